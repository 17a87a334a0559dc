/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The trace events of rust_sample: rust_sample:write, rust_sample:read and
 * rust_sample:wait. Defined here in C, as every trace event is (the
 * TRACE_EVENT machinery is C macros), with the Rust entry points that
 * CREATE_RUST_TRACE_POINTS adds; abstractions/trace.rs calls them.
 *
 * dev is the device's index in the load: 0 is rust_sample, N is
 * rust_sampleN. bytes is what the call moved (write, read; 0 for a call
 * that faulted and returns EFAULT) or asked for (wait). len is the FIFO's
 * length after the call (write, read) or when the caller went to sleep
 * (wait).
 */

#undef TRACE_SYSTEM
#undef TRACE_INCLUDE_FILE
#undef TRACE_INCLUDE_PATH
#define TRACE_SYSTEM rust_sample
#define TRACE_INCLUDE_FILE rust_sample_events
/* Relative to -I$(src)/abstractions, which Kbuild adds for this object. */
#define TRACE_INCLUDE_PATH .

#if !defined(_RUST_SAMPLE_EVENTS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _RUST_SAMPLE_EVENTS_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(rust_sample_io,
	TP_PROTO(unsigned int dev, size_t bytes, size_t len),
	TP_ARGS(dev, bytes, len),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(size_t, bytes)
		__field(size_t, len)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->bytes = bytes;
		__entry->len = len;
	),
	TP_printk("dev=%u bytes=%zu len=%zu", __entry->dev, __entry->bytes, __entry->len)
);

/* A write stored bytes. */
DEFINE_EVENT(rust_sample_io, write,
	TP_PROTO(unsigned int dev, size_t bytes, size_t len),
	TP_ARGS(dev, bytes, len)
);

/* A read took bytes out. */
DEFINE_EVENT(rust_sample_io, read,
	TP_PROTO(unsigned int dev, size_t bytes, size_t len),
	TP_ARGS(dev, bytes, len)
);

/* A reader (writer false) or a writer is about to sleep. */
TRACE_EVENT(wait,
	TP_PROTO(unsigned int dev, bool writer, size_t bytes, size_t len),
	TP_ARGS(dev, writer, bytes, len),
	TP_STRUCT__entry(
		__field(unsigned int, dev)
		__field(bool, writer)
		__field(size_t, bytes)
		__field(size_t, len)
	),
	TP_fast_assign(
		__entry->dev = dev;
		__entry->writer = writer;
		__entry->bytes = bytes;
		__entry->len = len;
	),
	TP_printk("dev=%u %s bytes=%zu len=%zu", __entry->dev,
		  __entry->writer ? "writer" : "reader", __entry->bytes, __entry->len)
);

#endif /* _RUST_SAMPLE_EVENTS_H */

/* Outside the guard: define_trace.h reads this header again. */
#include <trace/define_trace.h>
