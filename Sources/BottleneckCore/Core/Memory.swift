import CKernels

/// How the process hands memory back to the system. Training frees and re-allocates the same
/// large activation and gradient buffers every step; by default glibc returns many of them to the
/// kernel and then faults in fresh zeroed pages on the next step (measured: 2.2 million page
/// faults in 22 conv_wiki batches, 0.16 million with this setting). A process-wide setting, so an
/// application opts in once at startup (the `bottleneck` command does).
public enum MemoryTuning {
    /// Keeps freed memory (blocks up to 32 MB, up to 1 GB in all) for reuse. Returns false where
    /// the C library has no such setting (non-glibc systems).
    @discardableResult
    public static func keepFreedMemory() -> Bool { bn_keep_freed_memory() == 1 }
}
