/** What plan's Markdown shows open, apart from the renderer: plan's help quotes it and must not load the renderer. */

/** Up to this many entries, the table is shown open and nothing is summed up above it. */
export const OPEN_TABLE_ENTRIES = 25
