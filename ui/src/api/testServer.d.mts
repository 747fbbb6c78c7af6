export interface TestServer {
  url: string;
  seen: Array<{ auth?: string; body: unknown }>;
  close(): Promise<void>;
}
export function startTestServer(token: string): Promise<TestServer>;
