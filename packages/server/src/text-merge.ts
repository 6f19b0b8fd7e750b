import { diff3Merge } from "node-diff3";

/**
 * Three-way merge of two concurrent edits of a text, line by line, against their common
 * ancestor. Returns the merged text, or null when both edits changed the same lines.
 */
export function mergeText(base: string, ours: string, theirs: string): string | null {
  const regions = diff3Merge(ours.split("\n"), base.split("\n"), theirs.split("\n"), {
    excludeFalseConflicts: true,
  });
  const lines: string[] = [];
  for (const region of regions) {
    if ("conflict" in region && region.conflict) return null;
    if ("ok" in region && region.ok) lines.push(...region.ok);
  }
  return lines.join("\n");
}
