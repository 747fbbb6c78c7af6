// The browser-mode access token. `sluice serve` prints `http://127.0.0.1:P/?token=T`; the
// token is read from the address once, kept in sessionStorage (so a reload of the same tab
// still works) and taken out of the address bar, so it does not end up in bookmarks,
// history or a screenshot of the window.

export const TOKEN_PARAM = "token";
export const TOKEN_STORAGE_KEY = "sluice.token";

export interface TokenEnv {
  location: Pick<Location, "href">;
  history: Pick<History, "replaceState" | "state">;
  storage: Pick<Storage, "getItem" | "setItem"> | null;
}

function browserEnv(): TokenEnv {
  let storage: TokenEnv["storage"] = null;
  try {
    storage = window.sessionStorage;
  } catch {
    // Storage can be refused; the token then lives only for this page.
  }
  return { location: window.location, history: window.history, storage };
}

/** The token from the address (which wins: a new `sluice serve` prints a new one), else
 *  from this tab's storage; null when neither has one. Removes it from the address bar. */
export function takeToken(env: TokenEnv = browserEnv()): string | null {
  const url = new URL(env.location.href);
  const fromUrl = url.searchParams.get(TOKEN_PARAM);
  if (fromUrl) {
    try {
      env.storage?.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      // Not kept across reloads; this page still works.
    }
    url.searchParams.delete(TOKEN_PARAM);
    env.history.replaceState(env.history.state, "", url.pathname + url.search + url.hash);
    return fromUrl;
  }
  try {
    return env.storage?.getItem(TOKEN_STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}
