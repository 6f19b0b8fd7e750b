#!/usr/bin/env node
// Makes sure a working native cr-sqlite extension exists for the server (run by `npm install`).
//
// Order: NOTESYNC_CRSQLITE_PATH, then the prebuilt library of the optional @vlcn.io/crsqlite
// package (its download fails without GitHub access), then a build from the sources the npm
// registry ships, with Debian's Rust crates (see ../shared/notes/crsqlite-native.md). A build is
// cached per recipe revision, so a second install does not rebuild.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const CRSQLITE_VERSION = "0.16.3";
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = path.join(packageDir, "native");
const nativeLib = path.join(nativeDir, "crsqlite.so");
const recipeHash = createHash("sha256")
  .update(fs.readFileSync(fileURLToPath(import.meta.url)))
  .digest("hex")
  .slice(0, 12);
const cacheRoot = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
const cacheDir = path.join(cacheRoot, "notesync", `crsqlite-${CRSQLITE_VERSION}-${recipeHash}`);
const stampFile = path.join(nativeDir, "crsqlite.stamp");

const DEBIAN_PACKAGES = [
  "librust-bytes-dev",
  "librust-num-traits-dev",
  "librust-num-derive-dev",
  "bindgen",
  "clang",
  "libclang-dev",
  "gcc",
];

const log = (msg) => console.log(`[crsqlite] ${msg}`);
const require = createRequire(import.meta.url);

/** Loads the library into an in-memory database and exercises the one-argument crsql_as_crr. */
function smokeTest(libPath) {
  if (!fs.existsSync(libPath) || fs.statSync(libPath).size === 0) return "missing";
  let Database;
  try {
    Database = require("better-sqlite3");
  } catch (err) {
    return `better-sqlite3 not loadable: ${err.message}`;
  }
  const db = new Database(":memory:");
  try {
    db.loadExtension(libPath.replace(/\.(so|dylib|dll)$/, ""), "sqlite3_crsqlite_init");
    db.exec("CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, v INTEGER)");
    db.prepare("SELECT crsql_as_crr('t')").get();
    db.exec("INSERT INTO t VALUES ('a', 1)");
    const n = db.prepare("SELECT count(*) AS n FROM crsql_changes").get().n;
    db.prepare("SELECT crsql_finalize()").get();
    return n > 0 ? "ok" : "crsql_changes is empty after an insert";
  } catch (err) {
    return err.message;
  } finally {
    db.close();
  }
}

function installFrom(src, origin) {
  fs.mkdirSync(nativeDir, { recursive: true });
  // Copied beside it, then renamed over it: a running server keeps the library it mapped,
  // where overwriting the file in place would change code under it.
  const staged = `${nativeLib}.${process.pid}`;
  fs.copyFileSync(src, staged);
  fs.renameSync(staged, nativeLib);
  fs.writeFileSync(stampFile, `${recipeHash}\n${origin}\n`);
}

/** The oldest Rust that compiles cr-sqlite 0.16.3's crates (they use core::error). */
const MIN_RUST = [1, 81];

/**
 * The first cargo that runs and is new enough. A rustup proxy with no toolchain installed (a
 * fresh HOME, say) exists but fails, and Debian 12's own cargo is 1.65: each candidate is asked
 * for its version.
 */
function findCargo() {
  const dirs = [...(process.env.PATH ?? "").split(":"), path.join(os.homedir(), ".cargo", "bin")];
  for (const dir of new Set(dirs)) {
    const candidate = path.join(dir, "cargo");
    if (!dir || !fs.existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ["--version"], {
      env: { ...process.env, RUSTUP_TOOLCHAIN: "stable" },
      encoding: "utf8",
    });
    const version = /cargo (\d+)\.(\d+)/.exec(probe.stdout ?? "");
    const [major, minor] = version ? [Number(version[1]), Number(version[2])] : [0, 0];
    const recent = major > MIN_RUST[0] || (major === MIN_RUST[0] && minor >= MIN_RUST[1]);
    if (probe.status === 0 && recent) return candidate;
    const why =
      probe.status === 0
        ? `${probe.stdout.trim()} is older than ${MIN_RUST.join(".")}`
        : (probe.stderr || "it does not run").trim().split("\n")[0];
    log(`not using ${candidate}: ${why}`);
  }
  return null;
}

function missingDebianPackages(names) {
  return names.filter((name) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], { encoding: "utf8" });
    return r.status !== 0 || !r.stdout.includes("install ok installed");
  });
}

function ensureDebianPackages(cargoFound) {
  const wanted = cargoFound ? DEBIAN_PACKAGES : [...DEBIAN_PACKAGES, "cargo", "rustc"];
  const missing = missingDebianPackages(wanted);
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `building cr-sqlite needs Debian packages that are not installed. Run:\n  sudo ${command}\nthen run npm install again.`,
    );
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("sh", ["-c", command], { stdio: "inherit", env });
}

function replaceInFile(file, from, to) {
  const text = fs.readFileSync(file, "utf8");
  if (!text.includes(from)) throw new Error(`patch target not found in ${file}: ${from}`);
  fs.writeFileSync(file, text.split(from).join(to));
}

function walk(dir, visit) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, visit);
    else visit(full);
  }
}

/** Applies the changes the notes describe, so the sources build offline with stable Rust. */
function patchSources(pkg) {
  const rs = path.join(pkg, "rs");
  walk(rs, (file) => {
    const base = path.basename(file);
    if (base === "rust-toolchain.toml" || base === "Cargo.lock") fs.rmSync(file);
  });
  for (const toml of ["core/Cargo.toml", "sqlite-rs-embedded/sqlite_nostd/Cargo.toml"]) {
    const file = path.join(rs, toml);
    let text = fs.readFileSync(file, "utf8");
    text = text
      .replace(/^bytes = .*$/m, 'bytes = { version = "1.2", default-features = false }')
      .replace(
        /^num-traits = .*$/m,
        'num-traits = { version = "0.2.15", default-features = false }',
      )
      .replace(/^num-derive = .*$/m, 'num-derive = "0.3"');
    fs.writeFileSync(file, text);
  }
  const capi = path.join(rs, "sqlite-rs-embedded", "sqlite3_capi");
  replaceInFile(path.join(capi, "Cargo.toml"), 'bindgen = "0.68.1"', "");
  execFileSync(
    "bindgen",
    [
      "wrapper.h",
      "--use-core",
      "--no-rustfmt-bindings", // rustfmt is a rustup proxy that may have no toolchain here
      "--ctypes-prefix",
      "::core::ffi",
      "-o",
      "bindings.rs",
      "--",
      "-fvisibility=default",
    ],
    { cwd: capi, stdio: ["ignore", "ignore", "inherit"] },
  );
  fs.writeFileSync(
    path.join(capi, "build.rs"),
    [
      "fn main() {",
      '    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());',
      '    std::fs::copy("bindings.rs", out.join("bindings.rs")).expect("copy bindings");',
      '    println!("cargo:rerun-if-changed=bindings.rs");',
      "}",
      "",
    ].join("\n"),
  );
  replaceInFile(path.join(capi, "src", "lib.rs"), "#![feature(concat_idents)]\n", "");

  // SQLite hands out NULL for NULL text and blob values (and argv may be NULL when argc is 0);
  // passing NULL to slice::from_raw_parts is undefined behaviour and crashed the process on
  // `SELECT crsql_as_crr(NULL)`. Return an empty, NUL-terminated string or slice instead.
  const capiRs = path.join(capi, "src", "capi.rs");
  replaceInFile(
    capiRs,
    "unsafe { ::core::slice::from_raw_parts($argv, $argc as usize) }",
    "unsafe { if $argc <= 0 || ($argv).is_null() { &[] } else { ::core::slice::from_raw_parts($argv, $argc as usize) } }",
  );
  replaceInFile(
    capiRs,
    "unsafe { ::core::slice::from_raw_parts_mut($argv, $argc as usize) }",
    "unsafe { if $argc <= 0 || ($argv).is_null() { &mut [] } else { ::core::slice::from_raw_parts_mut($argv, $argc as usize) } }",
  );
  replaceInFile(
    capiRs,
    "let bytes = invoke_sqlite!(column_text, stmt, c);\n",
    'let bytes = invoke_sqlite!(column_text, stmt, c);\n        if bytes.is_null() { return &"\\0"[..0]; }\n',
  );
  replaceInFile(
    capiRs,
    "let bytes = invoke_sqlite!(value_text, arg1);\n",
    'let bytes = invoke_sqlite!(value_text, arg1);\n        if bytes.is_null() { return &"\\0"[..0]; }\n',
  );
  replaceInFile(
    capiRs,
    "let b = invoke_sqlite!(value_blob, value);\n",
    "let b = invoke_sqlite!(value_blob, value);\n        if b.is_null() { return &[]; }\n",
  );

  // unpack_columns reads packed primary keys from crsql_changes. With `panic = "abort"`, its
  // panics end the whole process: `get_u8` on an empty key, `get_int` of more than 8 bytes.
  // Make those (and a key of no columns, which later code indexes into) errors instead.
  const packRs = path.join(rs, "core", "src", "pack_columns.rs");
  replaceInFile(
    packRs,
    "let mut buf = data;\n    let num_columns = buf.get_u8();",
    "let mut buf = data;\n    if !buf.has_remaining() {\n        return Err(ResultCode::ABORT);\n    }\n    let num_columns = buf.get_u8();\n    if num_columns == 0 {\n        return Err(ResultCode::ABORT);\n    }",
  );
  for (const kind of ["Blob", "Integer", "Text"]) {
    replaceInFile(
      packRs,
      `Some(ColumnType::${kind}) => {\n                if buf.remaining() < intlen {`,
      `Some(ColumnType::${kind}) => {\n                if intlen > 8 || buf.remaining() < intlen {`,
    );
  }

  // The one-argument forms pass the Rust literal "main" to C as if it were NUL-terminated.
  replaceInFile(
    path.join(rs, "core", "src", "lib.rs"),
    '("main", args[0].text())',
    '("main\\0", args[0].text())',
  );
}

function build() {
  const cargoBin = findCargo();
  if (!cargoBin)
    throw new Error(
      `building cr-sqlite needs Rust ${MIN_RUST.join(".")} or newer and no cargo here runs at that version: install Rust with rustup (then \`rustup default stable\`), or set NOTESYNC_CRSQLITE_PATH to a built crsqlite.so`,
    );
  ensureDebianPackages(true);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-crsqlite-"));
  try {
    log(`fetching the sources of @vlcn.io/crsqlite@${CRSQLITE_VERSION} from the npm registry`);
    const tarball = execFileSync(
      "npm",
      ["pack", `@vlcn.io/crsqlite@${CRSQLITE_VERSION}`, "--silent"],
      {
        cwd: work,
        encoding: "utf8",
      },
    )
      .trim()
      .split("\n")
      .pop();
    execFileSync("tar", ["xzf", tarball], { cwd: work });
    const pkg = path.join(work, "package");
    patchSources(pkg);

    const cargoHome = path.join(work, "cargo-home");
    fs.mkdirSync(cargoHome);
    fs.writeFileSync(
      path.join(cargoHome, "config.toml"),
      [
        "[source.crates-io]",
        'replace-with = "debian"',
        "[source.debian]",
        'directory = "/usr/share/cargo/registry"',
        "[net]",
        "offline = true",
        "",
      ].join("\n"),
    );
    const env = {
      ...process.env,
      CARGO_HOME: cargoHome,
      RUSTC_BOOTSTRAP: "1",
      RUSTFLAGS: `${process.env.RUSTFLAGS ?? ""} -A warnings`.trim(),
      CRSQLITE_COMMIT_SHA: `npm-${CRSQLITE_VERSION}`,
      PATH: `${path.dirname(cargoBin)}:${process.env.PATH ?? ""}`,
    };
    // rustup reads its toolchains from the user's home; keep it there even with a private CARGO_HOME.
    if (cargoBin.includes(`${path.sep}.cargo${path.sep}`)) {
      env.RUSTUP_HOME = process.env.RUSTUP_HOME ?? path.join(os.homedir(), ".rustup");
    }
    log("building the Rust core (cargo, offline, Debian crates)");
    execFileSync(cargoBin, ["build", "--release", "--quiet", "--features", "loadable_extension"], {
      cwd: path.join(pkg, "rs", "bundle_static"),
      env,
      stdio: "inherit",
    });
    log("linking crsqlite.so");
    const out = path.join(work, "crsqlite.so");
    execFileSync(
      "gcc",
      [
        "-O2",
        "-I",
        "src",
        "-I",
        "src/sqlite",
        "-std=c99",
        "-fPIC",
        "-shared",
        "src/crsqlite.c",
        "src/changes-vtab.c",
        "src/ext-data.c",
        "rs/bundle_static/target/release/libcrsql_bundle_static.a",
        "-Wl,--exclude-libs,ALL",
        "-Wl,--gc-sections",
        "-s",
        "-o",
        out,
      ],
      { cwd: pkg, stdio: "inherit" },
    );
    const check = smokeTest(out);
    if (check !== "ok") throw new Error(`the library built from source does not work: ${check}`);
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.copyFileSync(out, path.join(cacheDir, "crsqlite.so"));
    fs.copyFileSync(
      path.join(pkg, "rs", "bundle_static", "Cargo.lock"),
      path.join(cacheDir, "Cargo.lock"),
    );
    return path.join(cacheDir, "crsqlite.so");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function main() {
  if (process.env.NOTESYNC_CRSQLITE_PATH) {
    const check = smokeTest(process.env.NOTESYNC_CRSQLITE_PATH);
    if (check !== "ok")
      throw new Error(`NOTESYNC_CRSQLITE_PATH=${process.env.NOTESYNC_CRSQLITE_PATH}: ${check}`);
    log(`using NOTESYNC_CRSQLITE_PATH=${process.env.NOTESYNC_CRSQLITE_PATH}`);
    return;
  }
  try {
    const prebuilt = path.join(
      path.dirname(require.resolve("@vlcn.io/crsqlite/package.json")),
      "dist",
      "crsqlite.so",
    );
    if (smokeTest(prebuilt) === "ok") {
      log(`using the prebuilt library of @vlcn.io/crsqlite (${prebuilt})`);
      return;
    }
  } catch {
    // the optional package is absent: its download failed, as it does without GitHub access
  }
  if (
    fs.existsSync(stampFile) &&
    fs.readFileSync(stampFile, "utf8").startsWith(recipeHash) &&
    smokeTest(nativeLib) === "ok"
  ) {
    log(`up to date: ${path.relative(process.cwd(), nativeLib)}`);
    return;
  }
  const cached = path.join(cacheDir, "crsqlite.so");
  if (smokeTest(cached) === "ok") {
    installFrom(cached, cached);
    log(`reused the cached build from ${cacheDir}`);
    return;
  }
  const started = Date.now();
  const built = build();
  installFrom(built, "source");
  log(`built from source in ${((Date.now() - started) / 1000).toFixed(1)} s: ${nativeLib}`);
}

try {
  main();
} catch (err) {
  console.error(`[crsqlite] ${err instanceof Error ? err.message : err}`);
  process.exit(1);
}
