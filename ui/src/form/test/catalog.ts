// The real node catalog for tests: ui/src/api/generated/catalog.json, the `catalog` answer
// generated from the engine's registry (a Rust test keeps it fresh).
import doc from "../../api/generated/catalog.json";
import type { CatalogKind } from "../../api/generated/CatalogKind";

export const catalog: CatalogKind[] = (doc as unknown as { kinds: CatalogKind[] }).kinds;

export function kind(name: string): CatalogKind {
  const k = catalog.find((c) => c.kind === name);
  if (!k) throw new Error(`kind ${name} is not in the catalog`);
  return k;
}
