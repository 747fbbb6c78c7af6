// Which language the designer starts in, switching it, and the switch control.
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import i18n, { STORAGE_KEY, initialLanguage, languageFor, setLanguage } from "./index";
import { LanguageSwitch } from "./LanguageSwitch";

function osLanguages(list: string[]) {
  vi.spyOn(navigator, "languages", "get").mockReturnValue(list);
  vi.spyOn(navigator, "language", "get").mockReturnValue(list[0] ?? "");
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  localStorage.clear();
});

describe("initialLanguage", () => {
  test.each([
    [["zh-CN"], "zh-CN"],
    [["zh-TW"], "zh-CN"],
    [["zh-Hant-HK", "en"], "zh-CN"],
    [["zh"], "zh-CN"],
    [["en-US"], "en"],
    [["en-GB", "zh-CN"], "en"],
    [["fr-FR", "zh-CN"], "zh-CN"],
    [["de-DE", "fr"], "en"],
    [[], "en"],
  ])("OS languages %j → %s", (list, expected) => {
    osLanguages(list);
    expect(initialLanguage()).toBe(expected);
  });

  test("a saved choice wins over the OS language", () => {
    osLanguages(["zh-CN"]);
    localStorage.setItem(STORAGE_KEY, "en");
    expect(initialLanguage()).toBe("en");
    osLanguages(["en-US"]);
    localStorage.setItem(STORAGE_KEY, "zh-CN");
    expect(initialLanguage()).toBe("zh-CN");
  });

  test("a saved value that is no language of ours is ignored", () => {
    osLanguages(["zh-TW"]);
    localStorage.setItem(STORAGE_KEY, "klingon");
    expect(initialLanguage()).toBe("zh-CN");
  });

  test("tags are read case-insensitively, and unknown ones give nothing", () => {
    expect(languageFor("ZH-cn")).toBe("zh-CN");
    expect(languageFor("en_US")).toBe("en");
    expect(languageFor("zu")).toBeNull();
    expect(languageFor(undefined)).toBeNull();
  });
});

describe("setLanguage", () => {
  test("switches, remembers the choice and sets <html lang>", async () => {
    await setLanguage("zh-CN");
    expect(i18n.language).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(localStorage.getItem(STORAGE_KEY)).toBe("zh-CN");
    expect(i18n.t("language.label", { ns: "app" })).toBe("界面语言");
    await setLanguage("en");
    expect(document.documentElement.lang).toBe("en");
    expect(i18n.t("language.label", { ns: "app" })).toBe("Language");
  });
});

describe("LanguageSwitch", () => {
  test("names each language in its own language and switches on change", async () => {
    await setLanguage("en");
    render(<LanguageSwitch />);
    const select = screen.getByTestId("language-switch") as HTMLSelectElement;
    expect(select.value).toBe("en");
    expect([...select.options].map((o) => o.textContent)).toEqual(["English", "简体中文"]);
    expect(select.getAttribute("aria-label")).toBe("Language");

    fireEvent.change(select, { target: { value: "zh-CN" } });
    await vi.waitFor(() => expect(i18n.language).toBe("zh-CN"));
    expect(localStorage.getItem(STORAGE_KEY)).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
    await vi.waitFor(() => expect(select.getAttribute("aria-label")).toBe("界面语言"));
    expect(select.value).toBe("zh-CN");
  });

  test("follows a switch made elsewhere", async () => {
    await setLanguage("zh-CN");
    render(<LanguageSwitch />);
    const select = screen.getByTestId("language-switch") as HTMLSelectElement;
    expect(select.value).toBe("zh-CN");
    await setLanguage("en");
    await vi.waitFor(() => expect(select.value).toBe("en"));
  });
});
