import {describe, expect, test} from 'bun:test'
import {parseByteSize} from './copy-flags.ts'

describe('parseByteSize (--chunk-size)', () => {
  test.each([
    ['16MiB', 16 * 1024 * 1024],
    ['64MB', 64_000_000],
    ['64 kib', 65_536],
    ['1048576', 1_048_576],
    ['1.5MiB', 1_572_864],
    ['1GiB', 1024 ** 3],
  ])('%s is %d bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes)
  })

  test.each(['', 'lots', '16 MiBs', '-1MiB', '0x10'])('%p is not a size', (input) => {
    expect(() => parseByteSize(input)).toThrow(/is not a size: write bytes, or a number with kB, MB, GB, KiB, MiB or GiB/)
  })

  test.each(['1KiB', '65535', '2GiB'])('%s is outside 64KiB..1GiB', (input) => {
    expect(() => parseByteSize(input)).toThrow(/a chunk must be between 64KiB and 1GiB/)
  })
})
