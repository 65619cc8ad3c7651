//! A no-op address space for unit tests that need a MemoryManager but
//! never run app code.

use std::any::Any;

use platform::{AddressSpace, Interrupter, PlatformError, Prot, ThreadTicket};

pub struct NoSpace;

impl AddressSpace for NoSpace {
    fn map(&self, _: u64, _: u64, _: Prot, _: u64) -> Result<(), PlatformError> {
        Ok(())
    }
    fn unmap(&self, _: u64, _: u64) -> Result<(), PlatformError> {
        Ok(())
    }
    fn protect(&self, _: u64, _: u64, _: Prot) -> Result<(), PlatformError> {
        Ok(())
    }
    fn new_thread(&self) -> Result<ThreadTicket, PlatformError> {
        Ok(ThreadTicket(0))
    }
    fn bind_thread(&self, _: ThreadTicket) -> Result<(), PlatformError> {
        Ok(())
    }
    fn release_thread(&self) {}
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
    fn fp_state(&self) -> Result<Vec<u8>, PlatformError> {
        Ok(Vec::new())
    }
    fn set_fp_state(&self, _: &[u8]) -> Result<(), PlatformError> {
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
