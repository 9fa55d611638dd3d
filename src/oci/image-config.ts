/** The few fields of an image config blob we read: its platform, for single-platform manifests. */
import type {Platform} from './platform.ts'

export function platformOfConfig(bytes: Uint8Array): Platform | null {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    if (typeof json.os !== 'string' || typeof json.architecture !== 'string') return null
    return {
      os: json.os,
      architecture: json.architecture,
      ...(typeof json.variant === 'string' && json.variant !== '' ? {variant: json.variant} : {}),
    }
  } catch {
    return null
  }
}
