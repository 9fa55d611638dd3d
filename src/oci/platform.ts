/** Platforms as the image spec writes them, and the `os/arch/variant` strings people read. */
import Type, {type Static} from 'typebox'
import {printable} from '../ref/text.ts'

export const PlatformSchema = Type.Object({
  architecture: Type.String(),
  os: Type.String(),
  'os.version': Type.Optional(Type.String()),
  'os.features': Type.Optional(Type.Array(Type.String())),
  variant: Type.Optional(Type.String()),
})
export type Platform = Static<typeof PlatformSchema>

/** `linux/arm64/v8`. The parts come from registries, so the result is made printable for plans and messages. */
export function formatPlatform(p: Platform): string {
  return printable([p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/'))
}

/**
 * buildx stores provenance/SBOM attestations in the index as manifests with platform unknown/unknown; they are
 * copied with the index but are not platforms anyone runs.
 */
export function isUnknownPlatform(p: Platform | undefined): boolean {
  return p === undefined || (p.os === 'unknown' && p.architecture === 'unknown')
}

/** `os/arch[/variant]` as a definition writes it: lower-case names, no empty parts. */
const PLATFORM_TEXT = /^[a-z0-9._-]+\/[a-z0-9._-]+(\/[a-z0-9._-]+)?$/

/** The platform `os/arch[/variant]` names; null when the text is not one. */
export function parsePlatform(text: string): Platform | null {
  if (!PLATFORM_TEXT.test(text)) return null
  const [os, architecture, variant] = text.split('/') as [string, string, string | undefined]
  return variant === undefined ? {os, architecture} : {os, architecture, variant}
}

/**
 * The variant a platform means when it names none, as containerd normalises it: arm64 is v8, arm is v7. amd64
 * has no such default: its v2/v3 are CPU levels that any amd64 request accepts (what amd64Only always did).
 */
const DEFAULT_VARIANT: Record<string, string> = {arm64: 'v8', arm: 'v7'}

/**
 * OCI platform matching of a requested platform against one an index offers: same os and architecture, and the
 * same variant once defaults are applied, so `linux/arm64` matches `linux/arm64/v8` but `linux/arm/v7` does not
 * match `linux/arm/v6`. A request without a variant for an architecture without a default takes any variant.
 */
export function platformMatches(requested: Platform, offered: Platform | undefined): boolean {
  if (offered === undefined || offered.os !== requested.os || offered.architecture !== requested.architecture) return false
  const fallback = DEFAULT_VARIANT[requested.architecture]
  if (requested.variant === undefined && fallback === undefined) return true
  const want = requested.variant ?? fallback
  const have = offered.variant || fallback
  return want === have
}
