// Types of catalog-messages-lib.mjs for the TypeScript tests that import it.

export interface CatalogKindLike {
  kind: string;
  category: string;
  title: string;
  description: string;
  keywords?: string[];
  ports?: { inputs?: Array<{ name: string; description?: string }>; outputs?: Array<{ name: string; description?: string }> };
  config_schema?: Record<string, unknown>;
}

export interface KindMessages {
  title: string;
  description: string;
  keywords: string;
  ports: Record<string, string>;
  fields: Record<string, { label: string; help: string }>;
  options: Record<string, Record<string, string>>;
}

export interface CatalogMessages {
  categories: Record<string, string>;
  ports: Record<string, string>;
  kinds: Record<string, KindMessages>;
}

export type MessageTree = { [key: string]: string | MessageTree };

export const CATEGORY_NAMES: Record<string, string>;
export function catalogKinds(catalog: unknown): CatalogKindLike[];
export function humanise(name: string): string;
export function unwrap(text: string): string;
export function walkConfigSchema(
  root: Record<string, unknown>,
  onField: (path: string, field: { title?: string; description?: string; name: string }) => void,
  onOption: (path: string, value: string, description: string) => void,
): void;
export function configPaths(configSchema: Record<string, unknown>): string[];
export function deriveCatalogMessages(catalog: unknown): CatalogMessages;
export function flattenMessages(tree: object, prefix?: string[], out?: Array<[string, string]>): Array<[string, string]>;
export function compareKeys(reference: object, other: object): { missing: string[]; extra: string[] };
