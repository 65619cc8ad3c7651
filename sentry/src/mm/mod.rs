//! Memory: the sandbox's memory file, the VMA set of each address space, and
//! the memory manager that keeps the two and the platform in step.

#[cfg(test)]
pub mod fake_space;
pub mod filecache;
pub mod manager;
pub mod memfile;
pub mod pagecache;
pub mod segments;
pub mod vma;
pub mod warm;

pub use manager::{MapRequest, MemoryManager, Placement, Source};
pub use memfile::{MemoryFile, PAGE_SIZE};
pub use segments::Segments;
