// Labels, help and option texts of node config fields in the UI language (the `catalog`
// namespace), with the schema's own English as the fallback.
export { fieldHelp, fieldLabel, optionDescription, errorText } from "../i18n/catalog";
