/**
 * The reference layer in one import: parsing and formatting image references, digests, and target naming.
 * Pure string work; no I/O. Layers above import from here rather than reaching into single files.
 */
export * from './digest.ts'
export * from './errors.ts'
export * from './host.ts'
export * from './reference.ts'
export * from './target.ts'
export * from './text.ts'
