// The language picker for the toolbar or settings: a native <select>, so it is compact,
// keyboard- and screen-reader-friendly without extra code. Each language is named in its
// own language (English / 简体中文), as users look for their own.
import { useTranslation } from "react-i18next";
import { LANGUAGES, currentLanguage, isLanguage, setLanguage } from "./index";

export interface LanguageSwitchProps {
  className?: string;
}

export function LanguageSwitch({ className }: LanguageSwitchProps) {
  const { t, i18n } = useTranslation("app");
  // Read through i18n so the select follows a switch made anywhere else as well.
  const value = isLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : currentLanguage();
  return (
    <select
      data-testid="language-switch"
      className={className}
      aria-label={t("language.label")}
      title={t("language.label")}
      value={value}
      onChange={(e) => {
        if (isLanguage(e.target.value)) void setLanguage(e.target.value);
      }}
    >
      {LANGUAGES.map((lang) => (
        <option key={lang} value={lang} lang={lang}>
          {t(`language.names.${lang}`)}
        </option>
      ))}
    </select>
  );
}
