/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rust_sample: the userspace ABI of /dev/rust_sample.
 *
 * Each device is one bounded byte FIFO shared by every opener; see
 * Documentation/abi.rst for the full semantics. device/uapi.rs mirrors this
 * header; rs-devtest's constants are generated from it (tests/userspace/
 * build.rs), so a module whose numbers drift fails the suite's ioctls.
 */
#ifndef _UAPI_RUST_SAMPLE_H
#define _UAPI_RUST_SAMPLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RUST_SAMPLE_IOC_MAGIC 0xB9

/* Capacity bounds, in bytes; the module parameter `capacity` obeys them too. */
#define RUST_SAMPLE_MIN_CAPACITY (4 * 1024)
#define RUST_SAMPLE_MAX_CAPACITY (16 * 1024 * 1024)
#define RUST_SAMPLE_DEFAULT_CAPACITY (64 * 1024)

/*
 * The module parameter `devices`: how many devices one load registers,
 * /dev/rust_sample, /dev/rust_sample1, ... up to rust_sample15. Each is a
 * FIFO of its own.
 */
#define RUST_SAMPLE_MAX_DEVICES 16

/*
 * Counters since the module was loaded (or since the last CLEAR for `len`).
 * No padding: every byte the kernel copies out is a field.
 */
struct rust_sample_stats {
	__u64 bytes_read;	/* bytes taken out by read(2) */
	__u64 bytes_written;	/* bytes put in by write(2) */
	__u64 reads;		/* read(2) calls that returned data */
	__u64 writes;		/* write(2) calls that stored data */
	__u64 len;		/* bytes in the FIFO now */
	__u64 capacity;		/* bytes the FIFO can hold */
	__u32 readers;		/* open files with read access */
	__u32 writers;		/* open files with write access */
};

/* Copy the stats out. */
#define RUST_SAMPLE_IOC_GET_STATS _IOR(RUST_SAMPLE_IOC_MAGIC, 1, struct rust_sample_stats)
/* Copy the capacity out. */
#define RUST_SAMPLE_IOC_GET_CAPACITY _IOR(RUST_SAMPLE_IOC_MAGIC, 2, __u64)
/*
 * Resize the FIFO, keeping its contents. CAP_SYS_ADMIN. EINVAL outside the
 * bounds, EBUSY if the FIFO holds more than the new capacity, ENOMEM if the
 * new buffer cannot be allocated; on any error nothing changes.
 */
#define RUST_SAMPLE_IOC_SET_CAPACITY _IOW(RUST_SAMPLE_IOC_MAGIC, 3, __u64)
/* Drop every byte in the FIFO. CAP_SYS_ADMIN. */
#define RUST_SAMPLE_IOC_CLEAR _IO(RUST_SAMPLE_IOC_MAGIC, 4)

#endif /* _UAPI_RUST_SAMPLE_H */
