//! `AsyncRing` (feature `tokio`) against this machine's kernel: woken at the watermark, every sample
//! read, and a hangup ends the wait when the event's task exits.

use premap::abi::attr::*;
use premap::abi::header::RECORD_SAMPLE;
use premap::{AsyncRing, Consume, Event, EventBuilder};
use std::time::Duration;

const PAGES: usize = 2000;

fn fresh_pages(n: usize) -> *mut u8 {
    // SAFETY: a private anonymous mapping, no pointers passed in.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            n * 4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p.cast()
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_ring_is_woken_at_its_watermark_and_reads_every_sample() {
    // This thread's page faults (the current-thread runtime runs here), user space only.
    let ev = EventBuilder::new(Event::PAGE_FAULTS)
        .sample_period(1)
        .sample_type(SAMPLE_IP | SAMPLE_TID)
        .exclude_kernel(true)
        .wakeup_events(100)
        .open()
        .expect("perf_event_open (root or perf_event_paranoid <= 2)");
    let mut ring = AsyncRing::new(ev.ring(64).unwrap()).unwrap();
    ev.enable().unwrap();
    let mem = fresh_pages(PAGES);
    let mut samples = 0u64;
    for chunk in 0..PAGES / 200 {
        for i in 0..200 {
            // SAFETY: inside the mapping made above; each page written once.
            unsafe { mem.add((chunk * 200 + i) * 4096).write_volatile(1) };
        }
        // 200 faults passed the 100-sample watermark: the wait must end, promptly.
        tokio::time::timeout(
            Duration::from_secs(5),
            ring.drain(|r| samples += u64::from(r.header.r#type == RECORD_SAMPLE)),
        )
        .await
        .expect("woken within 5 s")
        .unwrap();
    }
    ev.disable().unwrap();
    ring.ring()
        .drain(|r| samples += u64::from(r.header.r#type == RECORD_SAMPLE))
        .unwrap();
    assert!(
        samples >= PAGES as u64,
        "{samples} samples for {PAGES} pages"
    );
    assert_eq!(ring.ring().stats().lost, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn waiting_on_the_ring_of_a_task_that_exits_ends() {
    let mut child = std::process::Command::new("sleep")
        .arg("0.2")
        .spawn()
        .unwrap();
    let ev = EventBuilder::new(Event::CONTEXT_SWITCHES)
        .pid(child.id() as i32)
        .sample_period(1_000_000)
        .exclude_kernel(true)
        .disabled(false)
        .open()
        .expect("perf_event_open on a child");
    let mut ring = AsyncRing::new(ev.ring(1).unwrap()).unwrap();
    // Nothing reaches the watermark: only the task's exit (EPOLLHUP) ends the wait.
    let n = tokio::time::timeout(Duration::from_secs(10), ring.drain(|_| {}))
        .await
        .expect("the hangup ends the wait")
        .unwrap();
    assert_eq!(n, 0);
    assert!(child.wait().unwrap().success());
}

/// A synthetic ring's descriptor is an eventfd its producer signals at each record: an `AsyncRing`
/// over it wakes for records written by another thread, as one over a perf event does.
#[tokio::test(flavor = "current_thread")]
async fn a_synthetic_ring_wakes_its_async_reader() {
    let (mut producer, ring) = premap::synthetic::synthetic_ring::<Consume>(1, 0).unwrap();
    let mut ring = AsyncRing::new(ring).unwrap();
    let writer = std::thread::spawn(move || {
        for seq in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            assert!(producer.write(&premap::synthetic::sample_record(64, seq)));
        }
        producer
    });
    let mut seen = 0;
    while seen < 20 {
        seen += tokio::time::timeout(std::time::Duration::from_secs(10), ring.drain(|_| {}))
            .await
            .expect("woken by the producer's eventfd")
            .unwrap();
    }
    assert_eq!(seen, 20);
    drop(writer.join().unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn an_overwrite_ring_is_refused_when_wrapped_not_at_its_first_drain() {
    let ev = EventBuilder::new(Event::PAGE_FAULTS)
        .sample_period(1)
        .write_backward(true)
        .open()
        .expect("perf_event_open");
    // An overwrite ring is a `Ring<Overwrite>`, which `AsyncRing::new` does not take (a compile
    // error); the consume-mode ring it takes cannot be mapped from this event.
    assert!(matches!(
        ev.ring(1),
        Err(premap::Error::WrongMode {
            mode: premap::Mode::Overwrite,
            ..
        })
    ));
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_cpu_group_wakes_for_any_cpu_and_reads_every_sample_with_its_cpu() {
    use premap::{AsyncCpuRings, CpuRings};
    // This process's page faults on every CPU (the test thread may migrate between them).
    let b = EventBuilder::new(Event::PAGE_FAULTS)
        .sample_period(1)
        .sample_type(SAMPLE_IP | SAMPLE_TID | SAMPLE_CPU)
        .exclude_kernel(true)
        .disabled(true)
        .wakeup_events(100);
    let mut rings = AsyncCpuRings::new(CpuRings::open(&b, 64).expect("a ring per CPU")).unwrap();
    let cpus = rings.rings().cpus();
    rings.rings().enable().unwrap();
    let mem = fresh_pages(PAGES);
    let mut samples = 0u64;
    let mut wrong_cpu = 0u64;
    let layout = premap::abi::sample::SampleLayout::new(b.attr().sample_type);
    let mut count = |cpu: i32, r: premap::Record<'_>| {
        if r.header.r#type == RECORD_SAMPLE {
            samples += 1;
            // The sample's own CPU field names the ring it came from.
            wrong_cpu += u64::from(layout.cpu(r.body()) != u32::try_from(cpu).ok());
        }
    };
    for chunk in 0..PAGES / 200 {
        for i in 0..200 {
            // SAFETY: inside the mapping made above; each page written once.
            unsafe { mem.add((chunk * 200 + i) * 4096).write_volatile(1) };
        }
        tokio::time::timeout(Duration::from_secs(5), rings.read(&mut count))
            .await
            .expect("woken within 5 s")
            .unwrap();
    }
    rings.rings().disable().unwrap();
    rings.rings().drain(&mut count).unwrap();
    assert!(
        samples >= PAGES as u64,
        "{samples} samples for {PAGES} faults on CPUs {cpus:?}"
    );
    assert_eq!(
        wrong_cpu, 0,
        "samples handed out with another CPU than their ring's"
    );
    let lost: u64 = rings.rings().lost().iter().map(|l| l.lost).sum();
    assert_eq!(lost, 0);
}
