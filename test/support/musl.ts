/**
 * Running the linux-x64-musl release binary on Debian, without a chroot. The binary's loader is musl's
 * (`/lib/ld-musl-x86_64.so.1`, Debian's `musl` package), and it needs a C++ runtime (`libstdc++.so.6`,
 * `libgcc_s.so.1`), which on Alpine comes from `apk add libstdc++`. Debian ships those only built against glibc,
 * and they reach for six glibc-only symbols musl lacks. A tiny preloaded shim supplies them, and the glibc names
 * the C++ runtime asks for point at musl's libc. Everything else — musl itself, Bun's musl build, our bundle — is
 * what an Alpine user runs, so this proves the musl binary works; only the C++ runtime is borrowed.
 */
import {existsSync} from 'node:fs'
import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

export const MUSL_LOADER = '/lib/ld-musl-x86_64.so.1'
const GLIBC_CXX = ['/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libgcc_s.so.1']

const SHIM = `
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <locale.h>
char __libc_single_threaded = 0;
uint32_t arc4random(void) { uint32_t v = 0; getrandom(&v, sizeof v, 0); return v; }
size_t strftime_l(char *restrict, size_t, const char *restrict, const struct tm *restrict, locale_t);
size_t __strftime_l(char *s, size_t n, const char *f, const struct tm *t, locale_t l) { return strftime_l(s, n, f, t, l); }
/* thread_local destructors of the C++ runtime are not run at thread exit; the CLI's threads live as long as it. */
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) { (void)fn; (void)obj; (void)dso; return 0; }
/* -1 makes the unwinder fall back to dl_iterate_phdr, which musl has. */
int _dl_find_object(void *pc, void *result) { (void)pc; (void)result; return -1; }
struct { unsigned vendor, type, subtype; unsigned features[1]; } __cpu_model;
int __cpu_indicator_init(void) { return 0; }
`

/** True when this machine has what `muslEnv` needs: musl's loader, a C compiler, and Debian's C++ runtime. */
export function canRunMusl(): boolean {
  return existsSync(MUSL_LOADER) && existsSync('/usr/bin/cc') && GLIBC_CXX.every(existsSync)
}

/** Builds the shim and library directory under `dir`; returns the environment that runs a musl binary. */
export async function muslEnv(dir: string): Promise<Record<string, string>> {
  const lib = join(dir, 'musl-lib')
  await mkdir(lib, {recursive: true})
  await writeFile(join(dir, 'shim.c'), SHIM)
  const cc = Bun.spawnSync(['cc', '-shared', '-fPIC', '-nostdlib', '-O2', '-o', join(lib, 'libglibc-shim.so'), join(dir, 'shim.c')], {stderr: 'pipe'})
  if (cc.exitCode !== 0) throw new Error(`compiling the musl shim failed: ${cc.stderr.toString()}`)
  for (const file of GLIBC_CXX) await symlink(file, join(lib, file.split('/').pop()!))
  for (const name of ['libc.musl-x86_64.so.1', 'libc.so.6', 'libm.so.6', 'ld-linux-x86-64.so.2']) await symlink(MUSL_LOADER, join(lib, name))
  return {LD_LIBRARY_PATH: lib, LD_PRELOAD: join(lib, 'libglibc-shim.so')}
}
