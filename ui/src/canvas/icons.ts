// Node-kind icons: the catalog names a lucide icon per kind (`file-text`, `sigma`). Only
// the icons listed here are bundled (the whole set would add megabytes); a kind whose icon
// is not listed gets the category's icon, and a test lists catalog icons missing here.

import {
  ArrowDownWideNarrow,
  ArrowRightLeft,
  Box,
  Braces,
  CircleCheck,
  Code,
  Columns2,
  Combine,
  CopyMinus,
  Database,
  Dices,
  Download,
  EyeOff,
  FileText,
  Globe,
  Inbox,
  Filter,
  ListEnd,
  ListTree,
  Merge,
  Route,
  Search,
  Send,
  Shuffle,
  Sheet,
  Sigma,
  Sparkles,
  SquareFunction,
  Table,
  TableColumnsSplit,
  Terminal,
  Upload,
  Webhook,
  type LucideIcon,
} from "lucide-react";

export const KIND_ICONS: Record<string, LucideIcon> = {
  "arrow-down-wide-narrow": ArrowDownWideNarrow,
  "arrow-right-left": ArrowRightLeft,
  braces: Braces,
  "check-circle": CircleCheck,
  "circle-check": CircleCheck,
  code: Code,
  columns: Columns2,
  combine: Combine,
  "copy-minus": CopyMinus,
  database: Database,
  dices: Dices,
  "eye-off": EyeOff,
  "file-text": FileText,
  filter: Filter,
  globe: Globe,
  inbox: Inbox,
  // Not lucide names; the engine's catalog uses them for compute and json_flatten.
  function: SquareFunction,
  "square-function": SquareFunction,
  "list-end": ListEnd,
  "list-tree": ListTree,
  merge: Merge,
  route: Route,
  search: Search,
  send: Send,
  sheet: Sheet,
  sigma: Sigma,
  webhook: Webhook,
  sparkles: Sparkles,
  table: Table,
  "table-columns": TableColumnsSplit,
  "table-columns-split": TableColumnsSplit,
  terminal: Terminal,
  shuffle: Shuffle,
};

const CATEGORY_ICONS: Record<string, LucideIcon> = {
  source: Download,
  transform: Shuffle,
  sink: Upload,
};

export function kindIcon(icon: string | undefined, category: string | undefined): LucideIcon {
  return (icon && KIND_ICONS[icon]) || (category && CATEGORY_ICONS[category]) || Box;
}
