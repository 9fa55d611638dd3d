/**
 * Media types from the OCI image spec and Docker's registry v2 formats.
 * The Accept list matters: a registry only returns an index when the client says it understands one.
 */
export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const

export type MediaType = string

export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList]
const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest]
const SCHEMA1_MEDIA_TYPES: readonly string[] = [MediaType.DockerSchema1, MediaType.DockerSchema1Signed]
const IMAGE_CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig]

/** What we send as Accept for manifests: every format we can copy byte for byte. */
export const MANIFEST_ACCEPT = [...INDEX_MEDIA_TYPES, ...IMAGE_MANIFEST_MEDIA_TYPES].join(', ')

export function isIndex(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(baseMediaType(mediaType))
}

export function isImageManifest(mediaType: string): boolean {
  return IMAGE_MANIFEST_MEDIA_TYPES.includes(baseMediaType(mediaType))
}

/** A container image's config (it says the platform); anything else in a manifest's config makes it an artifact. */
export function isImageConfig(mediaType: string): boolean {
  return IMAGE_CONFIG_MEDIA_TYPES.includes(baseMediaType(mediaType))
}

export function isSchema1(mediaType: string): boolean {
  return SCHEMA1_MEDIA_TYPES.includes(baseMediaType(mediaType))
}

/** Strips parameters (`; charset=utf-8`) that some registries append to Content-Type. */
export function baseMediaType(mediaType: string): string {
  const parameters = mediaType.indexOf(';')
  return (parameters === -1 ? mediaType : mediaType.slice(0, parameters)).trim().toLowerCase()
}
