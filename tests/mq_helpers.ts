/**
 * Helpers of the message queue tests: the peer fixture (tests/fixtures/mq_peer.ts) run to
 * completion or watched while it waits, error matchers and unique names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { IpcError } from "../ffi/errors.ts";
import { fixtureCommand, runFixture, type RuntimeName, uniqueName } from "./helpers.ts";

/** Both runtimes, for peers. */
export const PEERS: RuntimeName[] = ["deno", "bun"];

/**
 * A matcher for `assert.throws`/`rejects`: an `IpcError` with this code, and a message
 * that matches `message` if given.
 *
 * @param code The errno name.
 * @param message A pattern the message must match.
 * @returns The matcher.
 */
export function isCode(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof IpcError, `expected IpcError ${code}, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

/**
 * A POSIX queue name no other test or process uses.
 *
 * @returns Such as `/mq-1234-5-k3j`.
 */
export function queueName(): string {
  return `/${uniqueName("mq")}`;
}

/**
 * Decodes UTF-8.
 *
 * @param data Bytes.
 * @returns The text.
 */
export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/**
 * Runs the peer fixture to completion and parses the JSON line it printed.
 *
 * @param runtime Which runtime runs it.
 * @param args Its command and arguments.
 * @returns The parsed output.
 */
export async function peer(runtime: RuntimeName, args: string[]): Promise<unknown> {
  const result = await runFixture(runtime, "mq_peer.ts", args, 30_000);
  assert.equal(result.code, 0, `mq_peer.ts ${args[0]} on ${runtime} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop() ?? "");
}

/** A peer running in the background. */
export interface RunningPeer {
  /** Resolves once the peer wrote `text` to stderr. */
  said(text: string): Promise<void>;
  /** Whether it has exited. */
  exited(): boolean;
  /** Resolves with its parsed output once it exits with code 0; rejects otherwise. */
  result: Promise<unknown>;
}

/**
 * Starts the peer fixture and lets the test watch it while it waits.
 *
 * @param runtime Which runtime runs it.
 * @param args Its command and arguments.
 * @returns The running peer.
 */
export function startPeer(runtime: RuntimeName, args: string[]): RunningPeer {
  const [command, argv] = fixtureCommand(runtime, "mq_peer.ts", args);
  const child = spawn(command, argv, { env: process.env, timeout: 30_000 });
  let stdout = "", stderr = "", done = false;
  const listeners: (() => void)[] = [];
  child.stdout.on("data", (d) => stdout += d);
  child.stderr.on("data", (d) => {
    stderr += d;
    for (const l of listeners.splice(0)) l();
  });
  const result = new Promise<unknown>((resolve, reject) => {
    child.on("close", (code) => {
      done = true;
      for (const l of listeners.splice(0)) l();
      if (code === 0) resolve(JSON.parse(stdout.trim().split("\n").pop() ?? ""));
      else reject(new Error(`mq_peer.ts ${args[0]} on ${runtime}: exit ${code}\n${stderr}`));
    });
  });
  result.catch(() => {}); // reported by whoever awaits it
  return {
    said: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (stderr.includes(text)) resolve();
          else if (done) reject(new Error(`the peer exited without saying ${text}:\n${stderr}`));
          else listeners.push(check);
        };
        check();
      }),
    exited: () => done,
    result,
  };
}
