// Types of repo-files.mjs for the TypeScript tests that import it.
export const uiDir: string;
export const repoDir: string;
export function readText(path: string): string;
export function listFiles(dir: string, keep?: (relativePath: string) => boolean): string[];
export function repoRelative(path: string): string;
