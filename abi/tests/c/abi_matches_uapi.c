/* Compiled by abi/tests/c_header.rs with the system C compiler: premap_abi.h must agree with the
 * kernel's <linux/perf_event.h> on every shared layout and number. Both headers are included together,
 * which also proves that premap's names do not collide with the UAPI's. */
#include <linux/perf_event.h>
#include <linux/ioctl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "premap_abi.h"

#define SAME_OFFSET(a, b, f) _Static_assert(offsetof(struct a, f) == offsetof(struct b, f), #f " offset")
#define SAME_SIZE(a, b, f) _Static_assert(sizeof(((struct a *)0)->f) == sizeof(((struct b *)0)->f), #f " size")
#define SAME(x) _Static_assert(PREMAP_##x == PERF_##x, #x)

_Static_assert(sizeof(struct premap_control_page) == sizeof(struct perf_event_mmap_page), "control page size");
_Static_assert(sizeof(struct premap_control_page) == PREMAP_CONTROL_PAGE_SIZE, "CONTROL_PAGE_SIZE");
_Static_assert(offsetof(struct premap_control_page, data_head) == 1024, "data_head at 1024");
SAME_OFFSET(premap_control_page, perf_event_mmap_page, version);
SAME_SIZE(premap_control_page, perf_event_mmap_page, version);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, compat_version);
SAME_SIZE(premap_control_page, perf_event_mmap_page, compat_version);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, lock);
SAME_SIZE(premap_control_page, perf_event_mmap_page, lock);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, index);
SAME_SIZE(premap_control_page, perf_event_mmap_page, index);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, offset);
SAME_SIZE(premap_control_page, perf_event_mmap_page, offset);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_enabled);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_enabled);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_running);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_running);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, capabilities);
SAME_SIZE(premap_control_page, perf_event_mmap_page, capabilities);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, pmc_width);
SAME_SIZE(premap_control_page, perf_event_mmap_page, pmc_width);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_shift);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_shift);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_mult);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_mult);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_offset);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_offset);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_zero);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_zero);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, size);
SAME_SIZE(premap_control_page, perf_event_mmap_page, size);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, __reserved_1);
SAME_SIZE(premap_control_page, perf_event_mmap_page, __reserved_1);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_cycles);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_cycles);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, time_mask);
SAME_SIZE(premap_control_page, perf_event_mmap_page, time_mask);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, __reserved);
SAME_SIZE(premap_control_page, perf_event_mmap_page, __reserved);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, data_head);
SAME_SIZE(premap_control_page, perf_event_mmap_page, data_head);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, data_tail);
SAME_SIZE(premap_control_page, perf_event_mmap_page, data_tail);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, data_offset);
SAME_SIZE(premap_control_page, perf_event_mmap_page, data_offset);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, data_size);
SAME_SIZE(premap_control_page, perf_event_mmap_page, data_size);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, aux_head);
SAME_SIZE(premap_control_page, perf_event_mmap_page, aux_head);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, aux_tail);
SAME_SIZE(premap_control_page, perf_event_mmap_page, aux_tail);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, aux_offset);
SAME_SIZE(premap_control_page, perf_event_mmap_page, aux_offset);
SAME_OFFSET(premap_control_page, perf_event_mmap_page, aux_size);
SAME_SIZE(premap_control_page, perf_event_mmap_page, aux_size);

_Static_assert(sizeof(struct premap_event_header) == sizeof(struct perf_event_header), "header size");
SAME_OFFSET(premap_event_header, perf_event_header, type);
SAME_SIZE(premap_event_header, perf_event_header, type);
SAME_OFFSET(premap_event_header, perf_event_header, misc);
SAME_SIZE(premap_event_header, perf_event_header, misc);
SAME_OFFSET(premap_event_header, perf_event_header, size);
SAME_SIZE(premap_event_header, perf_event_header, size);

/* The 6.1 UAPI header ends perf_event_attr at VER7; premap's struct also has VER8's config3. */
_Static_assert(sizeof(struct perf_event_attr) <= sizeof(struct premap_event_attr), "attr size");
_Static_assert(sizeof(struct premap_event_attr) == PREMAP_ATTR_SIZE_VER8, "attr is VER8");
SAME_OFFSET(premap_event_attr, perf_event_attr, type);
SAME_OFFSET(premap_event_attr, perf_event_attr, size);
SAME_OFFSET(premap_event_attr, perf_event_attr, config);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_period);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_type);
SAME_OFFSET(premap_event_attr, perf_event_attr, read_format);
SAME_OFFSET(premap_event_attr, perf_event_attr, wakeup_events);
SAME_OFFSET(premap_event_attr, perf_event_attr, bp_type);
SAME_OFFSET(premap_event_attr, perf_event_attr, config1);
SAME_OFFSET(premap_event_attr, perf_event_attr, config2);
SAME_OFFSET(premap_event_attr, perf_event_attr, branch_sample_type);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_regs_user);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_stack_user);
SAME_OFFSET(premap_event_attr, perf_event_attr, clockid);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_regs_intr);
SAME_OFFSET(premap_event_attr, perf_event_attr, aux_watermark);
SAME_OFFSET(premap_event_attr, perf_event_attr, sample_max_stack);
SAME_OFFSET(premap_event_attr, perf_event_attr, aux_sample_size);
SAME_OFFSET(premap_event_attr, perf_event_attr, sig_data);
SAME(ATTR_SIZE_VER0);
SAME(ATTR_SIZE_VER1);
SAME(ATTR_SIZE_VER2);
SAME(ATTR_SIZE_VER3);
SAME(ATTR_SIZE_VER4);
SAME(ATTR_SIZE_VER5);
SAME(ATTR_SIZE_VER6);
SAME(ATTR_SIZE_VER7);
#ifdef PERF_ATTR_SIZE_VER8
SAME(ATTR_SIZE_VER8);
#endif

SAME(RECORD_MMAP);
SAME(RECORD_LOST);
SAME(RECORD_COMM);
SAME(RECORD_EXIT);
SAME(RECORD_THROTTLE);
SAME(RECORD_UNTHROTTLE);
SAME(RECORD_FORK);
SAME(RECORD_READ);
SAME(RECORD_SAMPLE);
SAME(RECORD_MMAP2);
SAME(RECORD_AUX);
SAME(RECORD_ITRACE_START);
SAME(RECORD_LOST_SAMPLES);
SAME(RECORD_SWITCH);
SAME(RECORD_SWITCH_CPU_WIDE);
SAME(RECORD_NAMESPACES);
SAME(RECORD_KSYMBOL);
SAME(RECORD_BPF_EVENT);
SAME(RECORD_CGROUP);
SAME(RECORD_TEXT_POKE);
SAME(RECORD_AUX_OUTPUT_HW_ID);
SAME(SAMPLE_IP);
SAME(SAMPLE_TID);
SAME(SAMPLE_TIME);
SAME(SAMPLE_ADDR);
SAME(SAMPLE_READ);
SAME(SAMPLE_CALLCHAIN);
SAME(SAMPLE_ID);
SAME(SAMPLE_CPU);
SAME(SAMPLE_PERIOD);
SAME(SAMPLE_STREAM_ID);
SAME(SAMPLE_RAW);
SAME(SAMPLE_BRANCH_STACK);
SAME(SAMPLE_REGS_USER);
SAME(SAMPLE_STACK_USER);
SAME(SAMPLE_WEIGHT);
SAME(SAMPLE_DATA_SRC);
SAME(SAMPLE_IDENTIFIER);
SAME(SAMPLE_TRANSACTION);
SAME(SAMPLE_REGS_INTR);
SAME(SAMPLE_PHYS_ADDR);
SAME(SAMPLE_AUX);
SAME(SAMPLE_CGROUP);
SAME(SAMPLE_DATA_PAGE_SIZE);
SAME(SAMPLE_CODE_PAGE_SIZE);
SAME(SAMPLE_WEIGHT_STRUCT);
SAME(SAMPLE_MAX);
SAME(SAMPLE_WEIGHT_TYPE);
SAME(SAMPLE_BRANCH_HW_INDEX);
SAME(FORMAT_TOTAL_TIME_ENABLED);
SAME(FORMAT_TOTAL_TIME_RUNNING);
SAME(FORMAT_ID);
SAME(FORMAT_GROUP);
SAME(FORMAT_LOST);
SAME(FORMAT_MAX);
SAME(RECORD_MISC_CPUMODE_MASK);
SAME(RECORD_MISC_CPUMODE_UNKNOWN);
SAME(RECORD_MISC_KERNEL);
SAME(RECORD_MISC_USER);
SAME(RECORD_MISC_HYPERVISOR);
SAME(RECORD_MISC_GUEST_KERNEL);
SAME(RECORD_MISC_GUEST_USER);
SAME(RECORD_MISC_PROC_MAP_PARSE_TIMEOUT);
SAME(RECORD_MISC_MMAP_DATA);
SAME(RECORD_MISC_COMM_EXEC);
SAME(RECORD_MISC_FORK_EXEC);
SAME(RECORD_MISC_SWITCH_OUT);
SAME(RECORD_MISC_EXACT_IP);
SAME(RECORD_MISC_SWITCH_OUT_PREEMPT);
SAME(RECORD_MISC_MMAP_BUILD_ID);
SAME(RECORD_MISC_EXT_RESERVED);
SAME(TYPE_HARDWARE);
SAME(TYPE_SOFTWARE);
SAME(TYPE_TRACEPOINT);
SAME(TYPE_HW_CACHE);
SAME(TYPE_RAW);
SAME(TYPE_BREAKPOINT);
SAME(COUNT_SW_CPU_CLOCK);
SAME(COUNT_SW_TASK_CLOCK);
SAME(COUNT_SW_PAGE_FAULTS);
SAME(COUNT_SW_CONTEXT_SWITCHES);
SAME(COUNT_SW_CPU_MIGRATIONS);
SAME(COUNT_SW_PAGE_FAULTS_MIN);
SAME(COUNT_SW_PAGE_FAULTS_MAJ);
SAME(COUNT_SW_ALIGNMENT_FAULTS);
SAME(COUNT_SW_EMULATION_FAULTS);
SAME(COUNT_SW_DUMMY);
SAME(COUNT_SW_BPF_OUTPUT);
SAME(COUNT_SW_CGROUP_SWITCHES);
SAME(COUNT_HW_CPU_CYCLES);
SAME(COUNT_HW_INSTRUCTIONS);
SAME(COUNT_HW_CACHE_REFERENCES);
SAME(COUNT_HW_CACHE_MISSES);
SAME(COUNT_HW_BRANCH_INSTRUCTIONS);
SAME(COUNT_HW_BRANCH_MISSES);
SAME(COUNT_HW_BUS_CYCLES);
SAME(COUNT_HW_STALLED_CYCLES_FRONTEND);
SAME(COUNT_HW_STALLED_CYCLES_BACKEND);
SAME(COUNT_HW_REF_CPU_CYCLES);
/* The callchain markers (perf_event.h's enum perf_callchain_context). */
SAME(CONTEXT_HV);
SAME(CONTEXT_KERNEL);
SAME(CONTEXT_USER);
SAME(CONTEXT_GUEST);
SAME(CONTEXT_GUEST_KERNEL);
SAME(CONTEXT_GUEST_USER);
SAME(CONTEXT_MAX);

/* The memory-source and branch-type values of abi::data_src and abi::branch. */
SAME(MEM_OP_NA);
SAME(MEM_OP_LOAD);
SAME(MEM_OP_STORE);
SAME(MEM_OP_PFETCH);
SAME(MEM_OP_EXEC);
SAME(MEM_LVL_NA);
SAME(MEM_LVL_HIT);
SAME(MEM_LVL_MISS);
SAME(MEM_LVLNUM_NA);
SAME(MEM_SNOOP_NA);
SAME(MEM_LOCK_NA);
SAME(MEM_LOCK_LOCKED);
SAME(MEM_TLB_NA);
SAME(MEM_TLB_HIT);
SAME(MEM_TLB_MISS);
SAME(MEM_BLK_NA);
SAME(MEM_BLK_DATA);
SAME(MEM_BLK_ADDR);
_Static_assert(PREMAP_BRANCH_EXTEND_ABI == PERF_BR_EXTEND_ABI, "PERF_BR_EXTEND_ABI");
/* union perf_mem_data_src: the field boundaries abi::data_src::DataSrc reads. */
_Static_assert(PERF_MEM_LVL_SHIFT == 5 && PERF_MEM_SNOOP_SHIFT == 19 && PERF_MEM_LOCK_SHIFT == 24
               && PERF_MEM_TLB_SHIFT == 26 && PERF_MEM_LVLNUM_SHIFT == 33 && PERF_MEM_REMOTE_SHIFT == 37
               && PERF_MEM_SNOOPX_SHIFT == 38 && PERF_MEM_BLK_SHIFT == 40 && PERF_MEM_HOPS_SHIFT == 43,
               "perf_mem_data_src field shifts");
_Static_assert(PREMAP_PERF_EVENT_IOC_ENABLE == PERF_EVENT_IOC_ENABLE, "ENABLE");
_Static_assert(PREMAP_PERF_EVENT_IOC_DISABLE == PERF_EVENT_IOC_DISABLE, "DISABLE");
_Static_assert(PREMAP_PERF_EVENT_IOC_REFRESH == PERF_EVENT_IOC_REFRESH, "REFRESH");
_Static_assert(PREMAP_PERF_EVENT_IOC_RESET == PERF_EVENT_IOC_RESET, "RESET");
_Static_assert(PREMAP_PERF_EVENT_IOC_PERIOD == PERF_EVENT_IOC_PERIOD, "PERIOD");
_Static_assert(PREMAP_PERF_EVENT_IOC_SET_OUTPUT == PERF_EVENT_IOC_SET_OUTPUT, "SET_OUTPUT");
_Static_assert(PREMAP_PERF_EVENT_IOC_SET_FILTER == PERF_EVENT_IOC_SET_FILTER, "SET_FILTER");
_Static_assert(PREMAP_PERF_EVENT_IOC_ID == PERF_EVENT_IOC_ID, "ID");
_Static_assert(PREMAP_PERF_EVENT_IOC_SET_BPF == PERF_EVENT_IOC_SET_BPF, "SET_BPF");
_Static_assert(PREMAP_PERF_EVENT_IOC_PAUSE_OUTPUT == PERF_EVENT_IOC_PAUSE_OUTPUT, "PAUSE_OUTPUT");
_Static_assert(PREMAP_PERF_EVENT_IOC_QUERY_BPF == PERF_EVENT_IOC_QUERY_BPF, "QUERY_BPF");
_Static_assert(PREMAP_PERF_EVENT_IOC_MODIFY_ATTRIBUTES == PERF_EVENT_IOC_MODIFY_ATTRIBUTES, "MODIFY_ATTRIBUTES");
_Static_assert(PREMAP_PERF_IOC_FLAG_GROUP == PERF_IOC_FLAG_GROUP, "IOC_FLAG_GROUP");

/* The driver's requests are the _IOC encoding of their argument structs. */
_Static_assert(PREMAP_IOC_CREATE == _IOW(PREMAP_IOC_MAGIC, 1, struct premap_create), "IOC_CREATE");
_Static_assert(PREMAP_IOC_INFO == _IOR(PREMAP_IOC_MAGIC, 2, struct premap_info), "IOC_INFO");
_Static_assert(PREMAP_IOC_STATS == _IOR(PREMAP_IOC_MAGIC, 3, struct premap_stats), "IOC_STATS");
_Static_assert(PREMAP_IOC_GENERATE == _IOW(PREMAP_IOC_MAGIC, 4, struct premap_generate), "IOC_GENERATE");
_Static_assert(PREMAP_IOC_PAGE_INFO == _IOWR(PREMAP_IOC_MAGIC, 5, struct premap_page_info), "IOC_PAGE_INFO");

int main(void)
{
	/* A control page built through premap's struct reads back through the kernel's. */
	struct premap_control_page p;
	struct perf_event_mmap_page k;
	memset(&p, 0, sizeof(p));
	p.data_head = 0x1122334455667788ull;
	p.data_size = 8 * 4096;
	p.capabilities = PREMAP_CAP_BIT0_IS_DEPRECATED;
	memcpy(&k, &p, sizeof(k));
	if (k.data_head != p.data_head || k.data_size != p.data_size || !k.cap_bit0_is_deprecated || k.cap_bit0) {
		fprintf(stderr, "control page round trip failed\n");
		return 1;
	}
	if (sizeof(PREMAP_DEVICE_PATH) != sizeof("/dev/premap") || strcmp(PREMAP_DEVICE_PATH, "/dev/premap")) {
		fprintf(stderr, "device path\n");
		return 1;
	}
	printf("premap_abi.h agrees with <linux/perf_event.h>\n");
	return 0;
}
