import S3rver from "s3rver";
import { s3Store, type ObjectStore } from "../backup/object-store.js";
import { tempDir } from "./harness.test-helpers.js";

// An S3-compatible store in the test's process: s3rver, on loopback, on disk. A stand-in for S3
// (no MinIO here: shared/notes/operations.md); the server talks to it through the AWS SDK.
export const S3_ENV = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};
export const BACKUP_URL = "s3://backups/notesync";

export interface TestS3 {
  readonly endpoint: string;
  readonly port: number;
  readonly directory: string;
  /** A client of the test bucket. */
  store(): ObjectStore;
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (after `stop`). */
  restart(): Promise<void>;
}

export async function startS3(port = 0, directory = tempDir("notesync-s3-")): Promise<TestS3> {
  let server = new S3rver({
    address: "127.0.0.1",
    port,
    silent: true,
    directory,
    configureBuckets: [{ name: "backups" }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  let running = true;
  return {
    endpoint,
    port: address.port,
    directory,
    store: () => s3Store({ url: BACKUP_URL, endpoint, env: S3_ENV }),
    async stop() {
      if (running) await server.close();
      running = false;
    },
    async restart() {
      server = new S3rver({ address: "127.0.0.1", port: address.port, silent: true, directory });
      await server.run();
      running = true;
    },
  };
}
