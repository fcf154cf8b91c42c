/* SPDX-License-Identifier: MIT */
/* How Hive's BPF objects read kernel memory on the hooks' hot paths. */
#ifndef HIVE_READ_BPF_H
#define HIVE_READ_BPF_H

/*
 * Where the kernel has bpf_rdonly_cast() (6.2+), a field is read by a
 * plain load (the JIT guards it like bpf_probe_read_kernel() would), not by
 * a call: every open of every file pays the reads of its inode's key, and a
 * call costs several times a load. Set by the loader from the kernel's BTF;
 * where it is false the verifier drops the plain loads as dead code, their
 * unresolved kfunc call and all.
 */
const volatile bool direct_reads = false;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* ptr as the kernel's own type, whose fields plain loads may read. */
#define KERNEL_CAST(ptr) ((typeof(ptr))bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(typeof(*(ptr)))))

/* One field of ptr (a pointer or a number; no chain): by a plain load where
 * direct_reads, else by a call. */
#define KREAD(ptr, field) (direct_reads ? KERNEL_CAST(ptr)->field : BPF_CORE_READ(ptr, field))

#endif
