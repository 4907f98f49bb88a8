//! Where a finished image goes: one `Sink` trait, implemented by an OCI layout (`oci:DIR[:TAG]`),
//! a docker-archive (`docker-archive:FILE[:NAME:TAG]`) and a registry repository (`--push`).
//! `for_plan` lists the sinks a plan names (the local output first, then the push) and
//! `publish_all` hands the image to each in turn, stopping at the first failure (ko's
//! `MultiPublisher`). Sinks only write: checking where an output may go is `output`'s job, and
//! the image has passed the gate before any sink sees it.

use crate::config::Plan;
use crate::ecr::RepoState;
use lamina_oci::reference::ImageRef;
use lamina_oci::{archive, layout, Format, Image, TransportError};
use lamina_registry::{self as registry, Client, Reference, RegistryError};
use lamina_support::human::human;
use oci_spec::image::Digest;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a sink's progress lines go.
pub type Log<'a> = &'a (dyn Fn(String) + Sync);

/// A sink could not take the image. (Returned boxed: a layout error is large.)
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("writing {target}")]
    Write {
        target: String,
        #[source]
        source: TransportError,
    },
    #[error("pushing to {repository}")]
    Push {
        repository: String,
        #[source]
        source: RegistryError,
    },
}

impl lamina_support::diagnostic::Hint for SinkError {
    fn hint(&self) -> Option<String> {
        match self {
            SinkError::Write { source, .. } => source.hint(),
            SinkError::Push { source, .. } => source.hint(),
        }
    }
}

/// What kind of sink published: a local write or a registry push (for the report's timings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Write,
    Push,
}

/// A registry push's result, as the JSON report names it.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// The repository's URI (ECR's own, when lamina checked the repository), else `host/repo`.
    pub repository: String,
    pub tags: Vec<String>,
    /// The SBOM and provenance attached as OCI referrers (empty with `--no-attest`).
    pub attached: Vec<crate::attestation::Attached>,
    /// How the registry keeps referrers (`referrers API` or `referrers tag schema`).
    pub referrers: Option<&'static str>,
}

/// What one sink did with the image.
#[derive(Clone, Debug)]
pub struct Published {
    pub kind: Kind,
    /// The manifest digest as the sink holds it (a layout converts to OCI media types).
    pub digest: Digest,
    /// stdout's line for this sink: the digest, or `REPO@sha256:…` after a push.
    pub line: String,
    pub pushed: Option<Pushed>,
    pub elapsed: Duration,
}

/// A place an image can be written to.
pub trait Sink {
    /// What the sink is, for messages.
    fn name(&self) -> String;
    /// Writes `image` there, saying what it did through `log`.
    fn publish(&self, image: &Image, log: Log) -> Result<Published, Box<SinkError>>;
    /// A live count of the bytes it moves, with a label (`pushing`), for a progress line.
    fn bytes_moved(&self) -> Option<(&'static str, Arc<AtomicU64>)> {
        None
    }
}

/// How the caller watches sinks work: their log lines, and a live byte count while one moves bytes.
pub trait Watch: Sync {
    fn line(&self, msg: String);
    fn start(&self, label: &'static str, counter: Arc<AtomicU64>);
    fn stop(&self);
}

/// An OCI image layout directory. It always holds OCI media types (skopeo and umoci ignore Docker
/// manifests in a layout, and `skopeo copy … oci:` converts the same way).
pub struct LayoutSink {
    pub dir: PathBuf,
    pub tag: Option<String>,
    pub target: ImageRef,
}

/// A docker-archive tarball (`docker load`); it has no manifest of its own. `mtime` is the
/// archive's own entries' time.
pub struct ArchiveSink {
    pub file: PathBuf,
    pub name: Option<String>,
    pub mtime: u64,
    pub target: ImageRef,
}

/// A registry repository and the tags to give the image there.
pub struct RegistrySink {
    pub client: Arc<Client>,
    pub target: Reference,
    pub tags: Vec<String>,
    /// Tags there are immutable: a tag that names another image fails before any upload.
    pub immutable_tags: bool,
    /// The repository's URI as ECR names it, when lamina checked the repository.
    pub uri: Option<String>,
    /// Documents about the image, attached before any tag moves.
    pub artifacts: Vec<lamina_oci::artifact::Artifact>,
}

impl Sink for LayoutSink {
    fn name(&self) -> String {
        self.target.to_string()
    }

    fn publish(&self, image: &Image, log: Log) -> Result<Published, Box<SinkError>> {
        let start = Instant::now();
        let oci = image.clone().with_format(Format::Oci);
        layout::write(&oci, &self.dir, self.tag.as_deref()).map_err(|e| {
            Box::new(SinkError::Write {
                target: self.name(),
                source: e.into(),
            })
        })?;
        let digest = oci.digest();
        if digest != image.digest() {
            log(format!(
                "the OCI layout holds the image with OCI media types (same blobs): {digest}"
            ));
        }
        log(format!("wrote {}", self.name()));
        Ok(Published {
            kind: Kind::Write,
            line: digest.to_string(),
            digest,
            pushed: None,
            elapsed: start.elapsed(),
        })
    }
}

impl Sink for ArchiveSink {
    fn name(&self) -> String {
        self.target.to_string()
    }

    fn publish(&self, image: &Image, log: Log) -> Result<Published, Box<SinkError>> {
        let start = Instant::now();
        archive::write(image, &self.file, self.name.as_deref(), self.mtime).map_err(|e| {
            Box::new(SinkError::Write {
                target: self.name(),
                source: e.into(),
            })
        })?;
        log(format!("wrote {}", self.name()));
        let digest = image.digest();
        Ok(Published {
            kind: Kind::Write,
            line: digest.to_string(),
            digest,
            pushed: None,
            elapsed: start.elapsed(),
        })
    }
}

impl Sink for RegistrySink {
    fn name(&self) -> String {
        self.target.repo_name()
    }

    fn publish(&self, image: &Image, log: Log) -> Result<Published, Box<SinkError>> {
        let start = Instant::now();
        let (target, tags) = (&self.target, &self.tags);
        let (digest, via) = registry::push::push_with(
            &self.client,
            image,
            target,
            tags,
            self.immutable_tags,
            &self.artifacts,
            log,
        )
        .map_err(|source| SinkError::Push {
            repository: self.name(),
            source,
        })?;
        let attached: Vec<crate::attestation::Attached> = self
            .artifacts
            .iter()
            .map(|a| crate::attestation::Attached {
                kind: crate::attestation::kind_of(&a.artifact_type).unwrap_or("document"),
                artifact_type: a.artifact_type.clone(),
                digest: a.manifest_digest().to_string(),
            })
            .collect();
        for a in &attached {
            log(format!(
                "attached the {} ({}) as {}@{} ({})",
                a.kind,
                a.artifact_type,
                self.name(),
                a.digest,
                via.map_or("", |v| v.name())
            ));
        }
        let s = &self.client.stats;
        log(format!(
            "pushed {}@{digest}{}: {} blobs uploaded ({}), {} already present, {} mounted, {} retries",
            self.name(),
            if tags.is_empty() { String::new() } else { format!(" as {}", tags.join(", ")) },
            s.blobs_uploaded.load(Ordering::Relaxed),
            human(s.bytes_uploaded.load(Ordering::Relaxed)),
            s.blobs_skipped.load(Ordering::Relaxed),
            s.blobs_mounted.load(Ordering::Relaxed),
            s.retries.load(Ordering::Relaxed),
        ));
        Ok(Published {
            kind: Kind::Push,
            line: format!("{}@{digest}", self.name()),
            digest,
            pushed: Some(Pushed {
                repository: self.uri.clone().unwrap_or_else(|| self.name()),
                tags: tags.clone(),
                attached,
                referrers: via.map(|v| v.name()),
            }),
            elapsed: start.elapsed(),
        })
    }

    fn bytes_moved(&self) -> Option<(&'static str, Arc<AtomicU64>)> {
        Some(("pushing", self.client.stats.bytes_sent.clone()))
    }
}

/// The sink for a local output reference.
pub fn local(target: &ImageRef, mtime: u64) -> Box<dyn Sink> {
    match target {
        ImageRef::Layout { dir, tag } => Box::new(LayoutSink {
            dir: dir.clone(),
            tag: tag.clone(),
            target: target.clone(),
        }),
        ImageRef::Archive { file, name } => Box::new(ArchiveSink {
            file: file.clone(),
            name: name.clone(),
            mtime,
            target: target.clone(),
        }),
    }
}

/// The sinks `plan` names: its local output, then its push target (with what ECR said of the
/// repository, if it is one).
pub fn for_plan(
    plan: &Plan,
    client: &Arc<Client>,
    repo: Option<&RepoState>,
    artifacts: Vec<lamina_oci::artifact::Artifact>,
) -> Vec<Box<dyn Sink>> {
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(out) = &plan.output {
        sinks.push(local(out, plan.epoch));
    }
    if let Some((target, tags)) = &plan.push {
        sinks.push(Box::new(RegistrySink {
            client: client.clone(),
            target: target.clone(),
            tags: tags.clone(),
            immutable_tags: repo.is_some_and(|r| r.immutable),
            uri: repo.map(|r| r.uri.clone()),
            artifacts,
        }));
    }
    sinks
}

/// Hands `image` to every sink in order; the first failure stops the rest.
pub fn publish_all(
    image: &Image,
    sinks: &[Box<dyn Sink>],
    watch: &dyn Watch,
) -> Result<Vec<Published>, Box<SinkError>> {
    let mut out = Vec::with_capacity(sinks.len());
    for sink in sinks {
        let moved = sink.bytes_moved();
        if let Some((label, counter)) = &moved {
            watch.start(label, counter.clone());
        }
        let result = sink.publish(image, &|m| watch.line(m));
        if moved.is_some() {
            watch.stop();
        }
        out.push(result?);
    }
    Ok(out)
}
