// Types of the generated compose-validator.js.
export { default } from "./validator";
