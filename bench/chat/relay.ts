// The baseline: the same Socket.IO traffic through a bare relay that stores
// nothing. A send is numbered per room in memory, broadcast to the room, and
// acknowledged at once.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 0);
const http = createServer();
const io = new Server(http, { transports: ['websocket'] });
const seqs = new Map<string, number>();

io.of('/chat').on('connection', (socket) => {
  socket.on('join', (room: string, ack: (r: unknown) => void) => {
    void socket.join(room);
    ack({ ok: true });
  });
  socket.on('message.send', (m: { conversationId: string; clientMessageId: string; body: string }, ack: (r: unknown) => void) => {
    const seq = (seqs.get(m.conversationId) ?? 0) + 1;
    seqs.set(m.conversationId, seq);
    const createdAt = new Date().toISOString();
    io.of('/chat').to(m.conversationId).emit('message', { conversationId: m.conversationId, seq, clientMessageId: m.clientMessageId, body: m.body, createdAt });
    ack({ seq, createdAt, duplicate: false });
  });
});

http.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${(http.address() as { port: number }).port}\n`));
process.on('SIGTERM', () => {
  void io.close();
  http.close(() => process.exit(0));
});
