//! What a container's host process (`ward proxy`) is to do, written by
//! `ward create`/`ward exec` as JSON on the pipe at fd 3. The process reads
//! it only when it is whole, so its parent can first put it in the
//! sandbox's cgroup.

use std::path::PathBuf;

use sentry::control::protocol::{ContainerSpec, ProcessSpec};
use serde::{Deserialize, Serialize};

/// One extra source the container's gofer serves (a bind mount).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct GoferSource {
    pub source: PathBuf,
    pub read_only: bool,
}

/// Starting a new sandbox (the pod's first container).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct NewSandbox {
    pub platform: String,
    /// The bundle's network namespace path: the whole sandbox joins it.
    #[serde(default)]
    pub netns: Option<PathBuf>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Plan {
    /// A container: its own gofer for `rootfs` (and `sources`), created in
    /// the sandbox at `control` (started first if `sandbox` is set).
    Container {
        spec: Box<ContainerSpec>,
        rootfs: PathBuf,
        sources: Vec<GoferSource>,
        control: PathBuf,
        sandbox: Option<NewSandbox>,
    },
    /// A process in a running container.
    Exec {
        id: String,
        process: ProcessSpec,
        control: PathBuf,
    },
}

impl Plan {
    pub fn control(&self) -> &std::path::Path {
        match self {
            Plan::Container { control, .. } | Plan::Exec { control, .. } => control,
        }
    }
}
