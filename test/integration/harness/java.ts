// Compiles and runs the Java programs under test/integration/java/ (e.g. CuratorProbe.java,
// Apache Curator 5.4 from the Debian packages libcurator-{client,framework,recipes}-java).
//
// compileJava(['CuratorProbe.java'], CURATOR_CLASSPATH) runs javac once per content: the
// classes go to <os.tmpdir()>/zkts-java-<sha256 of sources + classpath>/ (built in a scratch
// directory and renamed into place, so parallel runs never see half a build), and a later run
// with the same sources reuses them.
//
// runJavaProbe(dir, classpath, mainClass, args) runs `java` and resolves with the JSON the
// program printed on its line "@@RESULT@@ <json>"; it rejects with the program's output when it
// exits non-zero, prints no result, or runs past the timeout.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './server.js';

export const JAVA = process.env['ZKTS_JAVA'] ?? '/usr/bin/java';
export const JAVAC = process.env['ZKTS_JAVAC'] ?? '/usr/bin/javac';

const SHARE = '/usr/share/java';

/**
 * What Curator 5.4 needs at run time (the Debian jars' manifests name the same set): the three
 * Curator jars, ZooKeeper and its jute classes, Guava, and SLF4J with the no-op binding so that
 * the output is only what the probe prints. Netty, commons-* etc. come in through zookeeper.jar's
 * manifest Class-Path when ZooKeeper needs them.
 */
export const CURATOR_CLASSPATH = [
  'curator-recipes.jar',
  'curator-framework.jar',
  'curator-client.jar',
  'zookeeper.jar',
  'zookeeper-jute.jar',
  'guava.jar',
  'slf4j-api.jar',
  'slf4j-nop.jar',
].map((j) => path.join(SHARE, j));

export function javaSourceDir(): string {
  return path.join(repoRoot(), 'test', 'integration', 'java');
}

/** The jars of `classpath` that are not installed. */
export function missingJars(classpath: readonly string[]): string[] {
  return classpath.filter((j) => !fs.existsSync(j));
}

/** Compiles the sources (names relative to test/integration/java) once; returns the class dir. */
export function compileJava(sources: readonly string[], classpath: readonly string[]): string {
  const missing = missingJars(classpath);
  if (missing.length > 0) {
    throw new Error(
      `missing jars: ${missing.join(', ')} ` +
        '(apt-get install libcurator-recipes-java libcurator-framework-java libzookeeper-java libguava-java libslf4j-java)',
    );
  }
  const files = sources.map((s) => path.join(javaSourceDir(), s));
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(fs.readFileSync(f)).update('\0');
  h.update(classpath.join(':'));
  const dir = path.join(os.tmpdir(), `zkts-java-${h.digest('hex').slice(0, 16)}`);
  if (fs.existsSync(path.join(dir, '.done'))) return dir;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zkts-javac-'));
  const r = spawnSync(JAVAC, ['-nowarn', '-encoding', 'UTF-8', '-d', scratch, '-cp', classpath.join(':'), ...files], {
    encoding: 'utf8',
    timeout: 120000,
  });
  if (r.status !== 0) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw new Error(`javac failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  }
  fs.writeFileSync(path.join(scratch, '.done'), '');
  try {
    fs.renameSync(scratch, dir);
  } catch {
    // another run got there first
    fs.rmSync(scratch, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, '.done'))) throw new Error(`cannot install compiled classes in ${dir}`);
  }
  return dir;
}

const RESULT = '@@RESULT@@ ';

export interface JavaRunOptions {
  timeoutMs?: number;
}

/** Runs `java -cp <classDir>:<classpath> <mainClass> args...`; resolves with its @@RESULT@@ JSON. */
export function runJavaProbe<T>(
  classDir: string,
  classpath: readonly string[],
  mainClass: string,
  args: readonly string[],
  opts: JavaRunOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 45000;
  return new Promise((resolve, reject) => {
    const child = spawn(
      JAVA,
      ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', [classDir, ...classpath].join(':'), mainClass, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${mainClass} ${args.join(' ')} timed out after ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(t);
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${mainClass} ${args.join(' ')} exited ${code ?? signal}; output:\n${out}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT.length)) as T);
    });
  });
}
