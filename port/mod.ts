/**
 * A message port between processes: {@linkcode listenPort}, {@linkcode connectPort},
 * {@linkcode Port}.
 *
 * @module
 */
export { type Transferable } from "./handles.ts";
export {
  connectPort,
  listenPort,
  Port,
  type PortConnectOptions,
  PortListener,
  type PortListenOptions,
  type PortMessageErrorEvent,
  type PortMessageEvent,
  type PortOptions,
} from "./port.ts";
