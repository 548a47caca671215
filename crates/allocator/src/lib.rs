//! glibc's allocator, set up for a small box: media jobs decode and encode
//! images of tens of megabytes one after another, and ML models of hundreds
//! of megabytes come and go. The two calls here are the whole policy:
//! keep freed buffers for the next job while working, and give everything
//! free back to the system once idle. Elsewhere glibc's defaults stand.

/// Serves buffers below 16 MiB from the heap and keeps up to 64 MiB of
/// freed heap before returning it. With glibc's defaults every decoded
/// photo's buffers were new pages from the kernel, zeroed and faulted in,
/// then returned at once: a fifth of the time spent on derivatives. 16 MiB
/// holds a preview-sized decode (a 24 MP photo at 3/8 scale is 10 MB) but
/// not argon2id's 19 MiB per password check, which would otherwise stay in
/// every thread that ever checked a password. The memory kept is about one
/// job's working set per job thread, and `release_freed_memory` returns it
/// when the box goes idle.
pub fn reuse_large_buffers() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes allocator parameters, under glibc's
    // own lock; it takes no pointers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// glibc keeps freed heap pages for reuse; a model's hundreds of megabytes
/// (or any other large table dropped when idle) would stay in the
/// process's memory after it unloads without this.
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free heap pages to the system; it
    // takes no pointers and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
