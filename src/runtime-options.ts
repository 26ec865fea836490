/**
 * How this process runs the app. Tooling (the db CLI) builds the same module
 * graph but must not run start-up work against a schema it is about to change.
 */
export class RuntimeOptions {
  constructor(readonly startupTasks: boolean) {}
}
