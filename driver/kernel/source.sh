# The mainline series vmtest builds: moving to the next one is this line (and its patches).
MAINLINE_SERIES=${MAINLINE_SERIES:-7.3}

# Kernel sources for driver/vmtest and driver/kernel/series (sourced, not run): Debian's pristine
# linux-source packages, unpacked once into $cache/src. Needs `cache` (the cache folder),
# `MAINLINE_SERIES` and a `log` function from the script that sources it.

# apt state of our own (sources list, package lists, caches under $cache/apt), so that the machine's
# apt configuration is neither used for nor changed by the mainline download. The archive URI is the
# machine's own Debian mirror.
apt_own() {
    local a="$cache/apt"
    mkdir -p "$a/etc/parts.d" "$a/lists/partial" "$a/archives/partial"
    local uri
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2); exit}' \
                               /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    [ -n "$uri" ] || { log "no Debian archive URI in /etc/apt: cannot fetch mainline sources"; return 1; }
    printf 'Types: deb\nURIs: %s\nSuites: trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" > "$a/etc/premap.sources"
    apt_opts=(-o Dir::Etc::sourcelist="$a/etc/premap.sources" -o Dir::Etc::sourceparts="$a/etc/parts.d"
              -o Dir::Etc::preferences="$a/etc/preferences" -o Dir::Etc::preferencesparts="$a/etc/parts.d"
              -o Dir::State::Lists="$a/lists" -o Dir::Cache::archives="$a/archives"
              -o Dir::Cache::pkgcache="$a/pkgcache.bin" -o Dir::Cache::srcpkgcache="$a/srcpkgcache.bin"
              -o APT::Sandbox::User=root)
}

# Unpacks the kernel's source into $cache/src/<dir> (once) and sets `src` to it.
kernel_source() {
    case "$1" in
    6.12)
        src="$cache/src/linux-source-6.12"
        [ -f "$src/Makefile" ] && return 0
        mkdir -p "$cache/src"
        tar -C "$cache/src" -xf /usr/src/linux-source-6.12.tar.xz ;;
    mainline)
        local series=$MAINLINE_SERIES
        src="$cache/src/linux-source-$series"
        [ -f "$src/Makefile" ] && return 0
        apt_own
        log "fetching linux-source-$series (Debian trixie-backports, apt state in $cache/apt)"
        apt-get "${apt_opts[@]}" -qq update
        local pkg="linux-source-$series"
        if ! apt-cache "${apt_opts[@]}" show "$pkg" >/dev/null 2>&1; then
            local newest
            newest=$(apt-cache "${apt_opts[@]}" pkgnames linux-source-7. | sort -V | tail -1)
            [ -n "$newest" ] || { log "Debian offers no linux-source-7.x"; return 1; }
            log "Debian no longer offers $pkg: falling back to $newest, the newest linux-source-7.x it has"
            log "(set MAINLINE_SERIES in driver/kernel/source.sh and port driver/kernel/mainline/ to move on for good)"
            pkg=$newest
            series=${newest#linux-source-}
            src="$cache/src/linux-source-$series"
            [ -f "$src/Makefile" ] && return 0
        fi
        rm -rf "$cache/apt/deb"
        mkdir -p "$cache/apt/deb"
        (cd "$cache/apt/deb" && apt-get "${apt_opts[@]}" -qq download "$pkg")
        dpkg -x "$cache/apt/deb/${pkg}"_*.deb "$cache/apt/deb/x"
        mkdir -p "$cache/src"
        tar -C "$cache/src" -xf "$cache/apt/deb/x/usr/src/$pkg.tar.xz"
        rm -rf "$cache/apt/deb" ;;
    esac
}

