// The workgroup editor shows the pre-chat form's extra fields as text, one per line:
//   order_number | Order number | required
//   product | Product
import type { FormField } from "./api";

export function formatFormFields(fields: FormField[]): string {
  return fields.map((f) => [f.name, f.label, ...(f.required ? ["required"] : [])].join(" | ")).join("\n");
}

export function parseFormFields(text: string): FormField[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const [name = "", label = "", flag = ""] = line.split("|").map((part) => part.trim());
      return { name, label: label || name, required: flag.toLowerCase() === "required" };
    });
}
