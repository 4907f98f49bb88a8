//! Lambda's rules for the image as a whole: one single-platform manifest whose layers are gzip of
//! the manifest's own family, `Cmd` exactly one string, the platform the function runs, at most
//! 10 GB uncompressed, and a manifest AWS advises to keep under 25,400 bytes.

use super::finding::{Code, Finding};
use super::{GateOptions, MAX_MANIFEST};
use crate::build::Built;
use lamina_install::lambda::MAX_UNCOMPRESSED;
use lamina_oci::media;

pub fn check(built: &Built, opts: &GateOptions, base_size: Option<u64>, out: &mut Vec<Finding>) {
    let image = &built.image;
    let cfg = image.config();
    let (os, arch) = (
        cfg["os"].as_str().unwrap_or(""),
        cfg["architecture"].as_str().unwrap_or(""),
    );
    if !opts.platform.matches(os, arch, cfg["variant"].as_str()) {
        out.push(Finding::error(Code::LaunchError, format!("the image is {os}/{arch} but the function is {} (fork/exec /lambda-entrypoint.sh: exec format error)", opts.platform)));
    }
    let cmd = &cfg["config"]["Cmd"];
    if cmd
        .as_array()
        .map(|a| a.len() != 1 || !a[0].is_string())
        .unwrap_or(true)
    {
        out.push(Finding::error(
            Code::ExitError,
            format!(
                "Cmd is {cmd}; the entrypoint needs exactly one argument, the handler (exit 142)"
            ),
        ));
    }
    if cfg["config"]["Entrypoint"]
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        out.push(Finding::warning(
            Code::Entrypoint,
            "the base sets no Entrypoint; AWS bases use /lambda-entrypoint.sh",
        ));
    }
    let gzip = image.format.layer_gzip_type();
    for l in &image.layers {
        let t = l.descriptor.media_type().to_string();
        if t != gzip {
            let why = if t == media::OCI_LAYER_TAR || t.ends_with(".tar") {
                "uncompressed layers are rejected (UnsupportedImageLayerDetected)"
            } else {
                "Lambda accepts only gzip layers of the manifest's own family"
            };
            out.push(Finding::error(
                Code::InvalidImage,
                format!(
                    "layer {} has media type {t} in a {:?} manifest: {why}",
                    l.digest(),
                    image.format
                ),
            ));
        }
    }
    let manifest_len = image.manifest_bytes().len();
    if manifest_len > MAX_MANIFEST {
        out.push(Finding::warning(Code::ImageManifest, format!("the manifest is {manifest_len} bytes; AWS advises under {MAX_MANIFEST} (fewer layers)")));
    }
    let compressed: u64 = image.layers.iter().map(|l| l.size()).sum();
    let ours: u64 = image
        .layers
        .iter()
        .skip(built.base_layers)
        .map(|l| l.uncompressed_size.unwrap_or(l.size()))
        .sum();
    let base_compressed: u64 = image
        .layers
        .iter()
        .take(built.base_layers)
        .map(|l| l.size())
        .sum();
    let known = ours + base_size.unwrap_or(base_compressed);
    if known > MAX_UNCOMPRESSED {
        out.push(Finding::error(Code::InvalidImage, format!("the image is at least {known} bytes uncompressed; Lambda's limit is {MAX_UNCOMPRESSED} (10 GB)")));
    } else if compressed > MAX_UNCOMPRESSED {
        // Only the descriptors say so: a manifest whose sizes lie is as fatal, but it is not size.
        out.push(Finding::error(Code::InvalidImage, format!("the manifest says the layers are {compressed} bytes compressed, over Lambda's limit of {MAX_UNCOMPRESSED} (10 GB); the bytes known are {known}: a manifest with wrong sizes is damaged")));
    }
}
