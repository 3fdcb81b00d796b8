//! Per-CPU rings: one event on every online CPU, one ring each, waited on together and read with
//! each record's CPU (what libbpf's perf buffer and `perf record -a` do), in ring order or merged in
//! time order.

use crate::error::{Error, Result};
use crate::event::{online_cpus, EventBuilder, PerfEvent};
use crate::poll::Poller;
use crate::ring::{Mode, Record, Ring, RingStats};
use premap_abi::header::RECORD_SAMPLE;
use premap_abi::sample::{SampleFormat, SampleLayout};
use premap_abi::EventHeader;
use std::time::Duration;

/// One CPU's event and ring. Field order: the ring is unmapped before the event is closed.
#[derive(Debug)]
struct PerCpu {
    cpu: i32,
    ring: Ring,
    event: PerfEvent,
}

/// What one CPU's ring lost, from the LOST and LOST_SAMPLES records read so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuLost {
    /// The CPU.
    pub cpu: i32,
    /// Records the kernel dropped because the ring was full (summed `PERF_RECORD_LOST` counts).
    pub lost: u64,
    /// Samples lost for other reasons (summed `PERF_RECORD_LOST_SAMPLES` counts).
    pub lost_samples: u64,
}

/// An event opened on every online CPU, each with its own ring, polled as one.
///
/// ```no_run
/// use premap::{CpuRings, Event, EventBuilder};
/// use std::time::Duration;
/// // Every context switch on the machine (needs perf_event_paranoid <= 0 or CAP_PERFMON).
/// let b = EventBuilder::new(Event::CONTEXT_SWITCHES).pid(-1).sample_period(1);
/// let mut rings = CpuRings::open(&b, 8)?;
/// rings.enable()?;
/// rings.read(Some(Duration::from_millis(100)), |cpu, rec| {
///     println!("cpu {cpu}: record type {}", rec.header.r#type);
/// })?;
/// # Ok::<(), premap::Error>(())
/// ```
#[derive(Debug)]
pub struct CpuRings {
    per_cpu: Vec<PerCpu>,
    poller: Poller,
    format: SampleFormat,
    /// Time-ordered reading: records read but not yet handed out, and the newest time of the
    /// previous round (everything up to it is safe to hand out: perf's FINISHED_ROUND rule).
    pending: Vec<Pending>,
    flushed_up_to: u64,
}

#[derive(Debug)]
struct Pending {
    time: u64,
    cpu: i32,
    header: EventHeader,
    position: u64,
    bytes: Vec<u8>,
}

impl CpuRings {
    /// Opens `builder`'s event on every online CPU (the builder's pid stays: -1 for every task, or
    /// one task on each CPU) and maps a ring of `data_pages` pages (a power of two) for each.
    pub fn open(builder: &EventBuilder, data_pages: usize) -> Result<Self> {
        Self::open_on(builder, &online_cpus()?, data_pages)
    }

    /// As [`CpuRings::open`], on the CPUs given. The rings are read in consume mode: a builder with
    /// `write_backward` is refused with [`Error::WrongMode`] before anything is opened.
    pub fn open_on(builder: &EventBuilder, cpus: &[i32], data_pages: usize) -> Result<Self> {
        if builder
            .attr()
            .has_flag(premap_abi::attr::ATTR_FLAG_WRITE_BACKWARD)
        {
            return Err(Error::WrongMode {
                call: "CpuRings::open",
                mode: Mode::Overwrite,
            });
        }
        let mut poller = Poller::new()?;
        let mut per_cpu = Vec::with_capacity(cpus.len());
        for (i, &cpu) in cpus.iter().enumerate() {
            let event = builder.clone().cpu(cpu).open()?;
            let ring = event.ring(data_pages)?;
            poller.add(ring.fd(), i as u64)?;
            per_cpu.push(PerCpu { cpu, ring, event });
        }
        Ok(Self {
            per_cpu,
            poller,
            format: builder.attr().sample_format(),
            pending: Vec::new(),
            flushed_up_to: 0,
        })
    }

    /// The CPUs, in ring order.
    pub fn cpus(&self) -> Vec<i32> {
        self.per_cpu.iter().map(|p| p.cpu).collect()
    }

    /// The event on `cpu`, if this group has one there.
    pub fn event(&self, cpu: i32) -> Option<&PerfEvent> {
        self.per_cpu.iter().find(|p| p.cpu == cpu).map(|p| &p.event)
    }

    /// Enables every CPU's event.
    pub fn enable(&self) -> Result<()> {
        self.per_cpu.iter().try_for_each(|p| p.event.enable())
    }

    /// Disables every CPU's event.
    pub fn disable(&self) -> Result<()> {
        self.per_cpu.iter().try_for_each(|p| p.event.disable())
    }

    /// Waits up to `timeout` (`None`: forever) until a ring reaches its wakeup watermark, then drains
    /// every ring, handing each record to `f` with its CPU (each ring's records in order; rings one
    /// after another). Returns the number of records.
    pub fn read(
        &mut self,
        timeout: Option<Duration>,
        f: impl FnMut(i32, Record<'_>),
    ) -> Result<u64> {
        self.poller.wait(timeout)?;
        self.drain(f)
    }

    /// The set the rings are polled in (its descriptor is readable while a ring is).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn poller(&mut self) -> &mut Poller {
        &mut self.poller
    }

    /// Bytes readable now, summed over every ring.
    pub fn readable(&self) -> Result<u64> {
        self.per_cpu
            .iter()
            .try_fold(0u64, |n, p| Ok(n.saturating_add(p.ring.readable()?)))
    }

    /// Drains every ring now, without waiting.
    pub fn drain(&mut self, mut f: impl FnMut(i32, Record<'_>)) -> Result<u64> {
        let mut n = 0;
        for p in &mut self.per_cpu {
            let cpu = p.cpu;
            n += p.ring.drain(|r| f(cpu, r))?;
        }
        Ok(n)
    }

    /// Drains every ring and hands out, in time order across CPUs, the records that can no longer be
    /// preceded by one still in a ring: those no newer than the newest record of the previous call
    /// (perf's FINISHED_ROUND rule: a ring is read in order, so after a round over every ring,
    /// nothing older than what that round saw can appear). The rest wait for the next call or
    /// [`CpuRings::finish_ordered`]. Needs `SAMPLE_TIME` and `sample_id_all` for the order to mean
    /// anything (records without a time sort first). Records are copied out of the rings: each
    /// [`Record`] borrows the copy, its `position` is the one it had in its CPU's ring.
    pub fn drain_ordered(&mut self, mut f: impl FnMut(i32, Record<'_>)) -> Result<u64> {
        let layout = SampleLayout::new(self.format.sample_type);
        let format = self.format;
        let mut newest = self.flushed_up_to;
        let pending = &mut self.pending;
        for p in &mut self.per_cpu {
            let cpu = p.cpu;
            p.ring.drain(|r| {
                let time = record_time(&r, &layout, &format).unwrap_or(0);
                newest = newest.max(time);
                pending.push(Pending {
                    time,
                    cpu,
                    header: r.header,
                    position: r.position,
                    bytes: r.bytes.to_vec(),
                });
            })?;
        }
        let n = self.flush(self.flushed_up_to, &mut f);
        self.flushed_up_to = newest;
        Ok(n)
    }

    /// Hands out every record [`CpuRings::drain_ordered`] still holds, in time order (at the end of
    /// a session, after disabling the events and a last `drain_ordered`).
    pub fn finish_ordered(&mut self, mut f: impl FnMut(i32, Record<'_>)) -> u64 {
        self.flush(u64::MAX, &mut f)
    }

    fn flush(&mut self, up_to: u64, f: &mut impl FnMut(i32, Record<'_>)) -> u64 {
        // Stable: records of one ring with equal times keep their ring order.
        self.pending.sort_by_key(|p| p.time);
        let cut = self.pending.partition_point(|p| p.time <= up_to);
        for p in self.pending.drain(..cut) {
            let record = Record {
                header: p.header,
                bytes: &p.bytes,
                position: p.position,
            };
            f(p.cpu, record);
        }
        cut as u64
    }

    /// Per CPU, what its ring lost so far.
    pub fn lost(&self) -> Vec<CpuLost> {
        self.per_cpu
            .iter()
            .map(|p| {
                let s = p.ring.stats();
                CpuLost {
                    cpu: p.cpu,
                    lost: s.lost,
                    lost_samples: s.lost_samples,
                }
            })
            .collect()
    }

    /// Per CPU, its ring's counters.
    pub fn stats(&self) -> Vec<(i32, RingStats)> {
        self.per_cpu
            .iter()
            .map(|p| (p.cpu, p.ring.stats()))
            .collect()
    }
}

/// A record's time: from the sample for SAMPLE records, from the `sample_id` trailer for others.
fn record_time(r: &Record<'_>, layout: &SampleLayout, format: &SampleFormat) -> Option<u64> {
    let EventHeader { r#type, .. } = r.header;
    if r#type == RECORD_SAMPLE {
        layout.time(r.body())
    } else {
        r.parse(format).ok()?.sample_id?.time
    }
}
