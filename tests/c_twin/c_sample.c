// SPDX-License-Identifier: GPL-2.0
/*
 * c_sample: the C twin of rust_sample, /dev/c_sample.
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

static unsigned long capacity = RUST_SAMPLE_DEFAULT_CAPACITY;
module_param(capacity, ulong, 0444);
MODULE_PARM_DESC(capacity, "FIFO capacity in bytes (4096 to 16777216)");

/*
 * Reads and writes hold the mutex across copy_to_iter()/copy_from_iter(),
 * which a user can stall at will (userfaultfd, FUSE). open() runs under the
 * global misc_mtx and release() may run in the shared delayed_fput worker,
 * so neither takes the mutex: the opener counts are atomics, and
 * wait_event_interruptible() re-checks them after queueing, so the last
 * writer's release() can wake readers without the lock.
 */
struct c_sample {
	struct mutex lock;		/* protects the FIFO and counters below */
	u8 *buf;
	size_t cap, head, len;
	u64 bytes_read, bytes_written, reads, writes;
	atomic_t readers, writers;	/* open files by access, lockless */
	wait_queue_head_t readable;	/* readers wait for data or EOF */
	wait_queue_head_t writable;	/* writers wait for space */
};

static struct c_sample dev;
/*
 * O_ASYNC files: readers hear POLL_IN, writers POLL_OUT. Kept apart from
 * dev: at its tail they cost the twin up to 2.6x in wall-clock throughput
 * on two vCPUs, with the same instruction counts (Documentation/
 * benchmarks.md, "A layout trap").
 */
static struct fasync_struct *fasync_readers;
static struct fasync_struct *fasync_writers;
static struct dentry *debugfs_dir;

static bool valid_capacity(u64 bytes)
{
	return bytes >= RUST_SAMPLE_MIN_CAPACITY && bytes <= RUST_SAMPLE_MAX_CAPACITY;
}

/* The two contiguous runs of data, oldest first. */
static void readable_runs(size_t *a_off, size_t *a_len, size_t *b_len)
{
	*a_off = dev.head;
	*a_len = min(dev.len, dev.cap - dev.head);
	*b_len = dev.len - *a_len;
}

/* The two contiguous runs of free space, in FIFO order. */
static void writable_runs(size_t *a_off, size_t *a_len, size_t *b_len)
{
	size_t free = dev.cap - dev.len;

	*a_off = dev.cap ? (dev.head + dev.len) % dev.cap : 0;
	*a_len = min(free, dev.cap - *a_off);
	*b_len = free - *a_len;
}

static void commit_pop(size_t n)
{
	dev.len -= n;
	dev.head = dev.len ? (dev.head + n) % dev.cap : 0;
}

/* Data arrived, or end of file. */
static void readable_now(__poll_t mask)
{
	wake_up_interruptible_poll(&dev.readable, mask);
	kill_fasync(&fasync_readers, SIGIO, POLL_IN);
}

/* Space freed. */
static void writable_now(void)
{
	wake_up_interruptible_poll(&dev.writable, EPOLLOUT | EPOLLWRNORM);
	kill_fasync(&fasync_writers, SIGIO, POLL_OUT);
}

static int c_sample_open(struct inode *inode, struct file *file)
{
	int ret = stream_open(inode, file);

	if (ret)
		return ret;
	/* read_iter and write_iter honour IOCB_NOWAIT (RWF_NOWAIT, io_uring). */
	file->f_mode |= FMODE_NOWAIT;
	/* No lock: we run under misc_mtx. A new writer wakes nobody. */
	if (file->f_mode & FMODE_READ)
		atomic_inc(&dev.readers);
	if (file->f_mode & FMODE_WRITE)
		atomic_inc(&dev.writers);
	return 0;
}

static int c_sample_release(struct inode *inode, struct file *file)
{
	if (file->f_mode & FMODE_READ)
		atomic_dec(&dev.readers);
	/*
	 * The last writer gone is EOF for readers and a hang-up for pollers;
	 * no other close changes what they wait for (as in pipe_release()).
	 */
	if ((file->f_mode & FMODE_WRITE) && atomic_dec_and_test(&dev.writers))
		readable_now(EPOLLIN | EPOLLHUP);
	return 0;
}

static ssize_t c_sample_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	size_t count = iov_iter_count(to), n, a_off, a_len, b_len, want, got, done = 0;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) || (iocb->ki_flags & IOCB_NOWAIT);

	if (!count)
		return 0;
	mutex_lock(&dev.lock);
	while (!dev.len) {
		if (!atomic_read(&dev.writers)) {
			mutex_unlock(&dev.lock);
			return 0;
		}
		mutex_unlock(&dev.lock);
		if (nonblock)
			return -EAGAIN;
		if (wait_event_interruptible(dev.readable,
					     READ_ONCE(dev.len) || !atomic_read(&dev.writers)))
			return -ERESTARTSYS;
		mutex_lock(&dev.lock);
	}
	n = min(count, dev.len);
	readable_runs(&a_off, &a_len, &b_len);
	want = min(a_len, n);
	got = copy_to_iter(dev.buf + a_off, want, to);
	done = got;
	if (got == want && done < n) {
		want = min(b_len, n - done);
		done += copy_to_iter(dev.buf, want, to);
	}
	commit_pop(done);
	if (done) {
		dev.bytes_read += done;
		dev.reads++;
	}
	mutex_unlock(&dev.lock);
	if (!done)
		return -EFAULT;
	writable_now();
	return done;
}

/* How many bytes a write of count may store now; 0 means wait. */
static size_t write_step(size_t count)
{
	size_t free = dev.cap - dev.len;

	if (count <= PAGE_SIZE)
		return free >= count ? count : 0;
	return min(count, free);
}

static ssize_t c_sample_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t count = iov_iter_count(from), n, a_off, a_len, b_len, want, got, done;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) || (iocb->ki_flags & IOCB_NOWAIT);

	if (!count)
		return 0;
	mutex_lock(&dev.lock);
	while (!(n = write_step(count))) {
		mutex_unlock(&dev.lock);
		if (nonblock)
			return -EAGAIN;
		if (wait_event_interruptible(dev.writable, write_step(count)))
			return -ERESTARTSYS;
		mutex_lock(&dev.lock);
	}
	writable_runs(&a_off, &a_len, &b_len);
	want = min(a_len, n);
	got = copy_from_iter(dev.buf + a_off, want, from);
	done = got;
	if (got == want && done < n) {
		want = min(b_len, n - done);
		done += copy_from_iter(dev.buf, want, from);
	}
	/* An atomic write that faulted stores nothing. */
	if (done < n && n <= PAGE_SIZE)
		done = 0;
	dev.len += done;
	if (done) {
		dev.bytes_written += done;
		dev.writes++;
	}
	mutex_unlock(&dev.lock);
	if (!done)
		return -EFAULT;
	readable_now(EPOLLIN | EPOLLRDNORM);
	return done;
}

static __poll_t c_sample_poll(struct file *file, poll_table *wait)
{
	__poll_t mask = 0;

	bool has_writer;

	poll_wait(file, &dev.readable, wait);
	poll_wait(file, &dev.writable, wait);
	has_writer = atomic_read(&dev.writers);
	mutex_lock(&dev.lock);
	if (dev.len || !has_writer)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (dev.len < dev.cap)
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (!has_writer && (file->f_mode & FMODE_READ))
		mask |= EPOLLHUP;
	mutex_unlock(&dev.lock);
	return mask;
}

static void get_stats(struct rust_sample_stats *s)
{
	memset(s, 0, sizeof(*s));
	mutex_lock(&dev.lock);
	s->bytes_read = dev.bytes_read;
	s->bytes_written = dev.bytes_written;
	s->reads = dev.reads;
	s->writes = dev.writes;
	s->len = dev.len;
	s->capacity = dev.cap;
	mutex_unlock(&dev.lock);
	s->readers = atomic_read(&dev.readers);
	s->writers = atomic_read(&dev.writers);
}

static long set_capacity(u64 bytes)
{
	u8 *buf, *old;
	size_t a_off, a_len, b_len;

	/* Allocate before taking the lock, as the Rust driver does. */
	buf = kvzalloc(bytes, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&dev.lock);
	if (dev.len > bytes) {
		mutex_unlock(&dev.lock);
		kvfree(buf);
		return -EBUSY;
	}
	readable_runs(&a_off, &a_len, &b_len);
	memcpy(buf, dev.buf + a_off, a_len);
	memcpy(buf + a_len, dev.buf, b_len);
	old = dev.buf;
	dev.buf = buf;
	dev.cap = bytes;
	dev.head = 0;
	mutex_unlock(&dev.lock);
	kvfree(old);
	writable_now();
	return 0;
}

static long c_sample_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct rust_sample_stats s;
	u64 v;

	switch (cmd) {
	case RUST_SAMPLE_IOC_GET_STATS:
		get_stats(&s);
		return copy_to_user(uarg, &s, sizeof(s)) ? -EFAULT : 0;
	case RUST_SAMPLE_IOC_GET_CAPACITY:
		mutex_lock(&dev.lock);
		v = dev.cap;
		mutex_unlock(&dev.lock);
		return put_user(v, (u64 __user *)uarg);
	case RUST_SAMPLE_IOC_SET_CAPACITY:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (get_user(v, (u64 __user *)uarg))
			return -EFAULT;
		if (!valid_capacity(v))
			return -EINVAL;
		return set_capacity(v);
	case RUST_SAMPLE_IOC_CLEAR:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		mutex_lock(&dev.lock);
		dev.head = 0;
		dev.len = 0;
		mutex_unlock(&dev.lock);
		writable_now();
		return 0;
	default:
		return -ENOTTY;
	}
}

/*
 * As pipe_fasync(): readers hear POLL_IN, writers POLL_OUT. No FIFO lock:
 * see struct c_sample.
 */
static int c_sample_fasync(int fd, struct file *file, int on)
{
	int ret = 0;

	if (file->f_mode & FMODE_READ)
		ret = fasync_helper(fd, file, on, &fasync_readers);
	if ((file->f_mode & FMODE_WRITE) && ret >= 0) {
		ret = fasync_helper(fd, file, on, &fasync_writers);
		if (ret < 0 && (file->f_mode & FMODE_READ))
			fasync_helper(-1, file, 0, &fasync_readers);
	}
	return ret;
}

static void show_stats(struct seq_file *m)
{
	struct rust_sample_stats s;

	get_stats(&s);
	seq_printf(m, "bytes_read:\t%llu\nbytes_written:\t%llu\nreads:\t%llu\nwrites:\t%llu\n",
		   s.bytes_read, s.bytes_written, s.reads, s.writes);
	seq_printf(m, "len:\t%llu\ncapacity:\t%llu\nreaders:\t%u\nwriters:\t%u\n",
		   s.len, s.capacity, s.readers, s.writers);
}

static void c_sample_show_fdinfo(struct seq_file *m, struct file *file)
{
	show_stats(m);
}

static int stats_show(struct seq_file *m, void *unused)
{
	show_stats(m);
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

static struct miscdevice c_sample_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "c_sample",
	.fops = &c_sample_fops,
	.mode = 0666,
};

static int __init c_sample_init(void)
{
	int ret;

	if (!valid_capacity(capacity)) {
		pr_err("capacity=%lu is out of bounds: it must be between %d and %d bytes\n",
		       capacity, RUST_SAMPLE_MIN_CAPACITY, RUST_SAMPLE_MAX_CAPACITY);
		return -EINVAL;
	}
	mutex_init(&dev.lock);
	init_waitqueue_head(&dev.readable);
	init_waitqueue_head(&dev.writable);
	dev.buf = kvzalloc(capacity, GFP_KERNEL);
	if (!dev.buf)
		return -ENOMEM;
	dev.cap = capacity;
	debugfs_dir = debugfs_create_dir("c_sample", NULL);
	debugfs_create_file("stats", 0444, debugfs_dir, NULL, &stats_fops);
	ret = misc_register(&c_sample_misc);
	if (ret) {
		debugfs_remove(debugfs_dir);
		kvfree(dev.buf);
		return ret;
	}
	pr_info("loaded, capacity %lu bytes\n", capacity);
	return 0;
}

static void __exit c_sample_exit(void)
{
	pr_info("unloading\n");
	misc_deregister(&c_sample_misc);
	debugfs_remove(debugfs_dir);
	kvfree(dev.buf);
}

module_init(c_sample_init);
module_exit(c_sample_exit);
MODULE_DESCRIPTION("The C twin of rust_sample: a pipe-like misc device");
MODULE_LICENSE("GPL");
