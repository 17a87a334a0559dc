// SPDX-License-Identifier: GPL-2.0
/*
 * c_sample: the C twin of rust_sample, /dev/c_sample (and c_sample1, ...
 * with devices=N).
 *
 * The same ABI (include/uapi/rust_sample.h), the same semantics and the same
 * ring-buffer algorithm as the Rust driver (device/ring.rs, device/fifo.rs),
 * written the way a careful C driver author would: a mutex, two wait
 * queues, read_iter/write_iter. It exists so that the Rust driver can be
 * tested for parity and measured against an honest baseline; it is not
 * tuned up or down.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>

#include <uapi/rust_sample.h>

#ifdef C_SAMPLE_NO_TRACE_EVENTS
/* make bench's build without trace events (see Kbuild). */
#define trace_write(dev, bytes, len) do { } while (0)
#define trace_read(dev, bytes, len) do { } while (0)
#define trace_wait(dev, writer, bytes, len) do { } while (0)
#else
#define CREATE_TRACE_POINTS
#include "c_sample_events.h"
#endif

static unsigned long capacity = RUST_SAMPLE_DEFAULT_CAPACITY;
module_param(capacity, ulong, 0444);
MODULE_PARM_DESC(capacity, "FIFO capacity in bytes (4096 to 16777216)");
static unsigned int devices = 1;
module_param(devices, uint, 0444);
MODULE_PARM_DESC(devices, "Number of devices: c_sample, c_sample1, ... (1 to 16)");

/*
 * Reads and writes hold the mutex across copy_to_iter()/copy_from_iter(),
 * which a user can stall at will (userfaultfd, FUSE), so nothing that serves
 * another user waits for it. open() runs under the global misc_mtx and
 * release() may run in the shared delayed_fput worker: the opener counts are
 * atomics, and wait_event_interruptible() re-checks them after queueing, so
 * the last writer's release() can wake readers without the lock. poll(),
 * fdinfo, debugfs and the GET ioctls read len, cap and the counters with
 * READ_ONCE(); they are written under the lock with WRITE_ONCE(). A read or
 * write with IOCB_NOWAIT only tries the lock.
 */
struct c_sample {
	struct mutex lock;		/* protects the FIFO and counters below */
	u8 *buf;
	size_t cap, head, len;		/* cap, len: WRITE_ONCE, read lockless */
	u64 bytes_read, bytes_written, reads, writes;	/* likewise */
	atomic_t readers, writers;	/* open files by access, lockless */
	wait_queue_head_t readable;	/* readers wait for data or EOF */
	wait_queue_head_t writable;	/* writers wait for space */
	/*
	 * O_ASYNC files: readers hear POLL_IN, writers POLL_OUT. Plain fields:
	 * forced into a cache line of their own (____cacheline_aligned_in_smp)
	 * they cost the twin up to 2.5x in wall-clock throughput on two vCPUs
	 * under QEMU, with the same instruction counts (Documentation/
	 * benchmarks.md, "A layout trap").
	 */
	struct fasync_struct *fasync_readers;
	struct fasync_struct *fasync_writers;
	/* Serialises c_sample_fasync()'s two fasync_helper() calls. */
	struct mutex fasync_lock;
	/* Cold: registration only. misc.name points to name. */
	unsigned int index;		/* in the load, as the trace events name it */
	struct miscdevice misc;
	struct dentry *debugfs_dir;
	char name[16];
};

/* The devices of this load, devs[0] to devs[devices - 1]. */
static struct c_sample *devs[RUST_SAMPLE_MAX_DEVICES];

static bool valid_capacity(u64 bytes)
{
	return bytes >= RUST_SAMPLE_MIN_CAPACITY && bytes <= RUST_SAMPLE_MAX_CAPACITY;
}

/*
 * The two contiguous runs of data, oldest first. No modulo: the storage
 * splits at head into the part up to its end and the part that wraps.
 */
static void readable_runs(struct c_sample *d, size_t *a_off, size_t *a_len, size_t *b_len)
{
	size_t to_end = d->cap - d->head;

	*a_off = d->head;
	*a_len = min(d->len, to_end);
	*b_len = d->len - *a_len;
}

/* The two contiguous runs of free space, in FIFO order. */
static void writable_runs(struct c_sample *d, size_t *a_off, size_t *a_len, size_t *b_len)
{
	size_t to_end = d->cap - d->head;

	if (d->len < to_end) {
		/* The data ends before the end: free is the rest, then all before head. */
		*a_off = d->head + d->len;
		*a_len = to_end - d->len;
		*b_len = d->head;
	} else {
		/* It reaches the end or wraps: free is what is left before head. */
		*a_off = d->len - to_end;
		*a_len = d->head - *a_off;
		*b_len = 0;
	}
}

/* n <= len <= cap, so head + n wraps at most once. */
static void commit_pop(struct c_sample *d, size_t n)
{
	size_t to_end = d->cap - d->head;

	WRITE_ONCE(d->len, d->len - n);
	if (!d->len)
		d->head = 0;
	else
		d->head = n < to_end ? d->head + n : n - to_end;
}

/*
 * Writes of up to PIPE_BUF bytes (or the whole capacity, if smaller) are
 * all-or-nothing, as for a pipe: not PAGE_SIZE, which is 16K or 64K on some
 * arm64 kernels.
 */
static size_t atomic_size(size_t cap)
{
	return min_t(size_t, PIPE_BUF, cap);
}

/* A write of the atomic size fits now: poll's EPOLLOUT, as a pipe's. */
static bool writable(size_t len, size_t cap)
{
	size_t free = cap > len ? cap - len : 0;

	return free && free >= atomic_size(cap);
}

/* IOCB_NOWAIT (RWF_NOWAIT, io_uring's inline try) never sleeps on the lock. */
static int lock_fifo(struct c_sample *d, struct kiocb *iocb)
{
	if (iocb->ki_flags & IOCB_NOWAIT)
		return mutex_trylock(&d->lock) ? 0 : -EAGAIN;
	mutex_lock(&d->lock);
	return 0;
}

/* Counters and len change under d->lock; observers read them lockless. */
static void count_read(struct c_sample *d, size_t n)
{
	WRITE_ONCE(d->bytes_read, d->bytes_read + n);
	WRITE_ONCE(d->reads, d->reads + 1);
}

static void count_write(struct c_sample *d, size_t n)
{
	WRITE_ONCE(d->bytes_written, d->bytes_written + n);
	WRITE_ONCE(d->writes, d->writes + 1);
}

/* Data arrived, or end of file. */
static void readable_now(struct c_sample *d, __poll_t mask)
{
	wake_up_interruptible_poll(&d->readable, mask);
	kill_fasync(&d->fasync_readers, SIGIO, POLL_IN);
}

/* Space freed. */
static void writable_now(struct c_sample *d)
{
	wake_up_interruptible_poll(&d->writable, EPOLLOUT | EPOLLWRNORM);
	kill_fasync(&d->fasync_writers, SIGIO, POLL_OUT);
}

static int c_sample_open(struct inode *inode, struct file *file)
{
	/* misc_open() left our miscdevice here; the file keeps its device. */
	struct c_sample *d = container_of(file->private_data, struct c_sample, misc);
	int ret = stream_open(inode, file);

	if (ret)
		return ret;
	file->private_data = d;
	/* read_iter and write_iter honour IOCB_NOWAIT (RWF_NOWAIT, io_uring). */
	file->f_mode |= FMODE_NOWAIT;
	/* No lock: we run under misc_mtx. A new writer wakes nobody. */
	if (file->f_mode & FMODE_READ)
		atomic_inc(&d->readers);
	if (file->f_mode & FMODE_WRITE)
		atomic_inc(&d->writers);
	return 0;
}

static int c_sample_release(struct inode *inode, struct file *file)
{
	struct c_sample *d = file->private_data;

	/*
	 * __fput() called ->fasync(-1, file, 0) if FASYNC was set; leave both
	 * SIGIO lists whatever it said, so no entry outlives the file.
	 */
	if (READ_ONCE(d->fasync_readers))
		fasync_helper(-1, file, 0, &d->fasync_readers);
	if (READ_ONCE(d->fasync_writers))
		fasync_helper(-1, file, 0, &d->fasync_writers);

	if (file->f_mode & FMODE_READ)
		atomic_dec(&d->readers);
	/*
	 * The last writer gone is EOF for readers and a hang-up for pollers;
	 * no other close changes what they wait for (as in pipe_release()).
	 */
	if ((file->f_mode & FMODE_WRITE) && atomic_dec_and_test(&d->writers))
		readable_now(d, EPOLLIN | EPOLLHUP);
	return 0;
}

static ssize_t c_sample_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct c_sample *d = iocb->ki_filp->private_data;
	size_t count = iov_iter_count(to), n, a_off, a_len, b_len, want, got, done = 0;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) || (iocb->ki_flags & IOCB_NOWAIT);

	if (!count)
		return 0;
	if (lock_fifo(d, iocb))
		return -EAGAIN;
	while (!d->len) {
		if (!atomic_read(&d->writers)) {
			mutex_unlock(&d->lock);
			return 0;
		}
		if (nonblock) {
			mutex_unlock(&d->lock);
			return -EAGAIN;
		}
		trace_wait(d->index, false, count, d->len);
		mutex_unlock(&d->lock);
		if (wait_event_interruptible(d->readable,
					     READ_ONCE(d->len) || !atomic_read(&d->writers)))
			return -ERESTARTSYS;
		mutex_lock(&d->lock);
	}
	n = min(count, d->len);
	readable_runs(d, &a_off, &a_len, &b_len);
	want = min(a_len, n);
	got = copy_to_iter(d->buf + a_off, want, to);
	done = got;
	if (got == want && done < n) {
		want = min(b_len, n - done);
		done += copy_to_iter(d->buf, want, to);
	}
	commit_pop(d, done);
	trace_read(d->index, done, d->len);
	if (done)
		count_read(d, done);
	mutex_unlock(&d->lock);
	if (!done)
		return -EFAULT;
	writable_now(d);
	return done;
}

/* How many bytes a write of count may store now; 0 means wait. */
static size_t write_step(struct c_sample *d, size_t count)
{
	/* Also a lockless wait condition: READ_ONCE, and no wrap. */
	size_t cap = READ_ONCE(d->cap), len = READ_ONCE(d->len);
	size_t free = cap > len ? cap - len : 0;

	if (count <= atomic_size(cap))
		return free >= count ? count : 0;
	return min(count, free);
}

static ssize_t c_sample_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct c_sample *d = iocb->ki_filp->private_data;
	size_t count = iov_iter_count(from), n, a_off, a_len, b_len, want, got, done;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) || (iocb->ki_flags & IOCB_NOWAIT);

	if (!count)
		return 0;
	if (lock_fifo(d, iocb))
		return -EAGAIN;
	while (!(n = write_step(d, count))) {
		if (nonblock) {
			mutex_unlock(&d->lock);
			return -EAGAIN;
		}
		trace_wait(d->index, true, count, d->len);
		mutex_unlock(&d->lock);
		if (wait_event_interruptible(d->writable, write_step(d, count)))
			return -ERESTARTSYS;
		mutex_lock(&d->lock);
	}
	writable_runs(d, &a_off, &a_len, &b_len);
	want = min(a_len, n);
	got = copy_from_iter(d->buf + a_off, want, from);
	done = got;
	if (got == want && done < n) {
		want = min(b_len, n - done);
		done += copy_from_iter(d->buf, want, from);
	}
	/* An atomic write that faulted stores nothing. */
	if (done < n && n <= atomic_size(d->cap))
		done = 0;
	WRITE_ONCE(d->len, d->len + done);
	trace_write(d->index, done, d->len);
	if (done)
		count_write(d, done);
	mutex_unlock(&d->lock);
	if (!done)
		return -EFAULT;
	readable_now(d, EPOLLIN | EPOLLRDNORM);
	return done;
}

/* As pipe_poll(): no lock; queue first, then read the state once. */
static __poll_t c_sample_poll(struct file *file, poll_table *wait)
{
	struct c_sample *d = file->private_data;
	__poll_t mask = 0;
	bool has_writer;
	size_t len;

	if (file->f_mode & FMODE_READ)
		poll_wait(file, &d->readable, wait);
	if (file->f_mode & FMODE_WRITE)
		poll_wait(file, &d->writable, wait);
	has_writer = atomic_read(&d->writers);
	len = READ_ONCE(d->len);
	if (file->f_mode & FMODE_READ) {
		if (len || !has_writer)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (!has_writer)
			mask |= EPOLLHUP;
	}
	if ((file->f_mode & FMODE_WRITE) && writable(len, READ_ONCE(d->cap)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* No lock: each field is a value it had during the call. */
static void get_stats(struct c_sample *d, struct rust_sample_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->bytes_read = READ_ONCE(d->bytes_read);
	s->bytes_written = READ_ONCE(d->bytes_written);
	s->reads = READ_ONCE(d->reads);
	s->writes = READ_ONCE(d->writes);
	s->len = READ_ONCE(d->len);
	s->capacity = READ_ONCE(d->cap);
	s->readers = atomic_read(&d->readers);
	s->writers = atomic_read(&d->writers);
}

static long set_capacity(struct c_sample *d, u64 bytes)
{
	u8 *buf, *old;
	size_t a_off, a_len, b_len;

	/* Allocate before taking the lock, as the Rust driver does. */
	buf = kvzalloc(bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&d->lock);
	if (d->len > bytes) {
		mutex_unlock(&d->lock);
		kvfree(buf);
		return -EBUSY;
	}
	readable_runs(d, &a_off, &a_len, &b_len);
	memcpy(buf, d->buf + a_off, a_len);
	memcpy(buf + a_len, d->buf, b_len);
	old = d->buf;
	d->buf = buf;
	WRITE_ONCE(d->cap, bytes);
	d->head = 0;
	mutex_unlock(&d->lock);
	kvfree(old);
	writable_now(d);
	return 0;
}

static long c_sample_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct c_sample *d = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct rust_sample_stats s;
	u64 v;

	switch (cmd) {
	case RUST_SAMPLE_IOC_GET_STATS:
		get_stats(d, &s);
		return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
	case RUST_SAMPLE_IOC_GET_CAPACITY:
		v = READ_ONCE(d->cap);
		return put_user(v, (u64 __user *)uarg);
	case RUST_SAMPLE_IOC_SET_CAPACITY:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (get_user(v, (u64 __user *)uarg))
			return -EFAULT;
		if (!valid_capacity(v))
			return -EINVAL;
		return set_capacity(d, v);
	case RUST_SAMPLE_IOC_CLEAR:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		mutex_lock(&d->lock);
		d->head = 0;
		WRITE_ONCE(d->len, 0);
		mutex_unlock(&d->lock);
		writable_now(d);
		return 0;
	default:
		return -ENOTTY;
	}
}

/*
 * The test build (make KUNIT=y) widens the two windows fasync_lock closes,
 * as abstractions/fasync.rs does for the Rust driver.
 */
#ifdef C_SAMPLE_TEST_WINDOWS
#define test_window(cond, us) do { if (cond) fsleep(us); } while (0)
#else
#define test_window(cond, us) do { } while (0)
#endif

/*
 * As pipe_fasync(): readers hear POLL_IN, writers POLL_OUT. ->fasync runs
 * unlocked (setfl(), ioctl_fioasync()), so the two calls are serialised by a
 * lock of their own (not the FIFO lock: see struct c_sample), and a failed
 * insertion undoes only a reader entry this call added.
 */
static int c_sample_fasync(int fd, struct file *file, int on)
{
	struct c_sample *d = file->private_data;
	int read_ret = 0, ret = 0;

	mutex_lock(&d->fasync_lock);
	test_window(on, 4000);
	if (file->f_mode & FMODE_READ)
		ret = read_ret = fasync_helper(fd, file, on, &d->fasync_readers);
	if ((file->f_mode & FMODE_WRITE) && ret >= 0) {
		test_window(!on && (file->f_mode & FMODE_READ), 20000);
		ret = fasync_helper(fd, file, on, &d->fasync_writers);
		if (ret < 0 && read_ret > 0)
			fasync_helper(-1, file, 0, &d->fasync_readers);
	}
	mutex_unlock(&d->fasync_lock);
	return ret < 0 ? ret : 0;
}

static void show_stats(struct c_sample *d, struct seq_file *m)
{
	struct rust_sample_stats s;

	get_stats(d, &s);
	seq_printf(m, "bytes_read:\t%llu\nbytes_written:\t%llu\nreads:\t%llu\nwrites:\t%llu\n",
		   s.bytes_read, s.bytes_written, s.reads, s.writes);
	seq_printf(m, "len:\t%llu\ncapacity:\t%llu\nreaders:\t%u\nwriters:\t%u\n",
		   s.len, s.capacity, s.readers, s.writers);
}

static void c_sample_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct c_sample *d = file->private_data;

	show_stats(d, m);
}

static int stats_show(struct seq_file *m, void *unused)
{
	struct c_sample *d = m->private;

	show_stats(d, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

static const struct file_operations c_sample_fops = {
	.owner = THIS_MODULE,
	.open = c_sample_open,
	.release = c_sample_release,
	.read_iter = c_sample_read_iter,
	.write_iter = c_sample_write_iter,
	.splice_read = copy_splice_read,
	.splice_write = iter_file_splice_write,
	.poll = c_sample_poll,
	.fasync = c_sample_fasync,
	.unlocked_ioctl = c_sample_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.show_fdinfo = c_sample_show_fdinfo,
};

/* Tears down a device that c_sample_create() made. */
static void c_sample_destroy(struct c_sample *d)
{
	/* The node first, so no new open starts while the rest goes. */
	misc_deregister(&d->misc);
	debugfs_remove(d->debugfs_dir);
	kvfree(d->buf);
	kfree(d);
}

/*
 * Creates device index: the FIFO, its debugfs directory, then its node, so
 * nothing can open a device that is not complete. The first keeps the
 * single-device name, the others are numbered from 1.
 */
static struct c_sample *c_sample_create(unsigned int index)
{
	struct c_sample *d = kzalloc(sizeof(*d), GFP_KERNEL);
	int ret = -ENOMEM;

	if (!d)
		return ERR_PTR(-ENOMEM);
	mutex_init(&d->lock);
	mutex_init(&d->fasync_lock);
	init_waitqueue_head(&d->readable);
	init_waitqueue_head(&d->writable);
	d->buf = kvzalloc(capacity, GFP_KERNEL);
	if (!d->buf)
		goto free_dev;
	d->cap = capacity;
	d->index = index;
	if (index)
		snprintf(d->name, sizeof(d->name), "c_sample%u", index);
	else
		strscpy(d->name, "c_sample");
	d->debugfs_dir = debugfs_create_dir(d->name, NULL);
	debugfs_create_file("stats", 0444, d->debugfs_dir, d, &stats_fops);
	d->misc.minor = MISC_DYNAMIC_MINOR;
	d->misc.name = d->name;
	d->misc.fops = &c_sample_fops;
	d->misc.mode = 0666;
	ret = misc_register(&d->misc);
	if (ret)
		goto remove_debugfs;
	return d;

remove_debugfs:
	debugfs_remove(d->debugfs_dir);
	kvfree(d->buf);
free_dev:
	kfree(d);
	return ERR_PTR(ret);
}

static void c_sample_destroy_all(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(devs) && devs[i]; i++) {
		c_sample_destroy(devs[i]);
		devs[i] = NULL;
	}
}

static int __init c_sample_init(void)
{
	unsigned int i;

	if (!valid_capacity(capacity)) {
		pr_err("capacity=%lu is out of bounds: it must be between %d and %d bytes\n",
		       capacity, RUST_SAMPLE_MIN_CAPACITY, RUST_SAMPLE_MAX_CAPACITY);
		return -EINVAL;
	}
	if (devices < 1 || devices > RUST_SAMPLE_MAX_DEVICES) {
		pr_err("devices=%u is out of bounds: it must be between 1 and %d\n",
		       devices, RUST_SAMPLE_MAX_DEVICES);
		return -EINVAL;
	}
	for (i = 0; i < devices; i++) {
		struct c_sample *d = c_sample_create(i);

		if (IS_ERR(d)) {
			c_sample_destroy_all();
			return PTR_ERR(d);
		}
		devs[i] = d;
	}
	pr_info("loaded, %u device(s), capacity %lu bytes\n", devices, capacity);
	return 0;
}

static void __exit c_sample_exit(void)
{
	pr_info("unloading\n");
	c_sample_destroy_all();
}

module_init(c_sample_init);
module_exit(c_sample_exit);
MODULE_DESCRIPTION("The C twin of rust_sample: a pipe-like misc device");
MODULE_LICENSE("GPL");
