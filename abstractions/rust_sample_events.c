// SPDX-License-Identifier: GPL-2.0
/*
 * Instantiates rust_sample's trace events (rust_sample_events.h): the
 * tracepoints, their tracefs entries, and one rust_do_trace_<event>()
 * function each, which abstractions/trace.rs calls when an event is on.
 */

#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include "rust_sample_events.h"
