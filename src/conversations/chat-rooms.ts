/** Socket.IO rooms of the /chat namespace; other modules' gateways on it address the same rooms. */
export const rooms = {
  conversation: (id: string) => `conversation:${id}`,
  participant: (id: string) => `participant:${id}`,
  agents: 'agents',
};
