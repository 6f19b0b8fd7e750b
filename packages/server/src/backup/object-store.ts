import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

/** Where backups go: a few operations on keys, whatever stores them. */
export interface ObjectStore {
  /** Writes the whole object (replacing one with the same key). */
  put(key: string, body: Uint8Array): Promise<void>;
  /** The object's bytes, or null when there is no such key. */
  get(key: string): Promise<Uint8Array | null>;
  /** Every key under `prefix` (no delimiter: some S3 stand-ins drop nested prefixes with one). */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /** Where it is, for logs and errors. */
  readonly description: string;
}

/** `s3://bucket/prefix` as bucket and key prefix (without a trailing slash). */
export function parseBackupUrl(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match)
    throw new Error(`--backup-url must look like s3://bucket/prefix, got ${JSON.stringify(url)}`);
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, "") };
}

export interface S3StoreOptions {
  /** `s3://bucket/prefix` */
  readonly url: string;
  /** An S3-compatible endpoint; default from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, else AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * An S3 bucket (or any S3-compatible store) through the AWS SDK. Credentials and region come
 * from the usual AWS variables. Checksums only where S3 requires them: with the SDK's default
 * (a streamed CRC32 trailer) an S3 stand-in stored uploads corrupted (shared/notes/operations.md).
 */
export function s3Store(options: S3StoreOptions): ObjectStore {
  const env = options.env ?? process.env;
  const { bucket, prefix } = parseBackupUrl(options.url);
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const client = new S3Client({
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    endpoint,
    forcePathStyle: endpoint !== undefined,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 2,
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
        : undefined,
  });
  const full = (key: string) => (prefix ? `${prefix}/${key}` : key);
  const relative = (key: string) => (prefix ? key.slice(prefix.length + 1) : key);
  return {
    description: `${options.url}${endpoint ? ` at ${endpoint}` : ""}`,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: full(key), Body: body }));
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === "NoSuchKey")
          return null;
        throw err;
      }
    },
    async list(under) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: full(under),
            ContinuationToken: token,
          }),
        );
        for (const o of out.Contents ?? []) if (o.Key) keys.push(relative(o.Key));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },
    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: full(k) })) },
          }),
        );
      }
    },
  };
}
