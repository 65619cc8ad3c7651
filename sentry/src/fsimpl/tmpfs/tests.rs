//! tmpfs through the VFS.
