'use strict';
// Drives the official @mattermost/client as a normal Mattermost user. Protocol: one JSON request per stdin line
// {"id":1,"cmd":"login","args":{...}}, one JSON answer per stdout line {"id":1,"ok":true,"result":...} or
// {"id":1,"ok":false,"error":{...}}. Library logging goes to stderr so stdout stays clean.
const readline = require('node:readline');

const log = (...a) => process.stderr.write(a.map(String).join(' ') + '\n');
console.log = log;
console.warn = log;
console.error = log;

// Node 20 has neither WebSocket nor CloseEvent; the client reads WebSocket.OPEN globally.
globalThis.WebSocket = require('ws');
if (typeof globalThis.CloseEvent === 'undefined') {
    globalThis.CloseEvent = class CloseEvent {
        constructor(type, init = {}) {
            this.type = type;
            this.code = init.code;
            this.reason = init.reason || '';
            this.wasClean = !!init.wasClean;
        }
    };
}

const {Client4, WebSocketClient} = require('@mattermost/client');

const client = new Client4();
client.setIncludeCookies(false);
let ws = null;
const events = [];
const waiters = [];
let helloCount = 0;
let missedCount = 0;
let me = null;

function decode(msg) {
    const copy = JSON.parse(JSON.stringify(msg));
    for (const k of ['post', 'reaction']) {
        if (copy.data && typeof copy.data[k] === 'string') {
            copy.data[k + '_raw_type'] = 'string';
            copy.data[k] = JSON.parse(copy.data[k]);
        }
    }
    return copy;
}

function matches(ev, filter) {
    if (filter.event && ev.event !== filter.event) {
        return false;
    }
    if (filter.message !== undefined && !(ev.data && ev.data.post && ev.data.post.message === filter.message)) {
        return false;
    }
    if (filter.post_id !== undefined) {
        const pid = ev.data && ((ev.data.post && ev.data.post.id) || (ev.data.reaction && ev.data.reaction.post_id));
        if (pid !== filter.post_id) {
            return false;
        }
    }
    return true;
}

function onEvent(msg) {
    const ev = decode(msg);
    ev.index = events.length;
    events.push(ev);
    for (const w of [...waiters]) {
        if (ev.index >= w.from && matches(ev, w.filter)) {
            waiters.splice(waiters.indexOf(w), 1);
            clearTimeout(w.timer);
            w.resolve(ev);
        }
    }
}

function waitEvent({event, message, post_id, from = 0, timeoutMs = 10000}) {
    const filter = {event, message, post_id};
    const found = events.find((e) => e.index >= from && matches(e, filter));
    if (found) {
        return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
        const w = {filter, from, resolve};
        w.timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`timeout waiting for ${JSON.stringify(filter)} (have ${events.map((e) => e.event).join(',')})`));
        }, timeoutMs);
        waiters.push(w);
    });
}

const commands = {
    async setup({url}) {
        client.setUrl(url);
        return {url: client.getUrl()};
    },
    async login({login_id, password}) {
        me = await client.login(login_id, password);
        return {user: me, token: client.getToken()};
    },
    async setToken({token}) {
        client.setToken(token);
        me = await client.getMe();
        return {user: me};
    },
    async getMe() {
        return client.getMe();
    },
    async createPost({channel_id, message, root_id = '', props, pending_post_id}) {
        const post = {channel_id, message, root_id};
        if (props) {
            post.props = props;
        }
        if (pending_post_id) {
            post.pending_post_id = pending_post_id;
        }
        return client.createPost(post);
    },
    async addReaction({post_id, emoji_name}) {
        return client.addReaction(me.id, post_id, emoji_name);
    },
    // Any Client4 method by name, e.g. {"method":"getChannelByNameAndTeamName","params":["demo","town-square"]}.
    async call({method, params = []}) {
        if (typeof client[method] !== 'function') {
            throw new Error(`Client4 has no method ${method}`);
        }
        return client[method](...params);
    },
    async wsConnect({timeoutMs = 10000} = {}) {
        if (ws) {
            throw new Error('already connected');
        }
        ws = new WebSocketClient({minWebSocketRetryTime: 300, reconnectJitterRange: 100, maxWebSocketRetryTime: 2000});
        ws.addMessageListener((msg) => {
            if (msg.event === 'hello') {
                helloCount++;
            }
            onEvent(msg);
        });
        ws.addMissedMessageListener(() => {
            missedCount++;
        });
        const from = events.length;
        // Like the webapp: the REST base URL with a ws scheme.
        ws.initialize(client.getWebSocketUrl().replace(/^http/, 'ws'), client.getToken());
        const hello = await waitEvent({event: 'hello', from, timeoutMs});
        return {connection_id: hello.data.connection_id, seq: hello.seq};
    },
    async wsStatus() {
        return {
            connection_id: ws ? ws.connectionId : null,
            server_sequence: ws ? ws.serverSequence : null,
            hello_count: helloCount,
            missed_count: missedCount,
            event_count: events.length,
            connected: !!(ws && ws.conn && ws.conn.readyState === 1),
        };
    },
    async waitEvent(args) {
        return waitEvent(args);
    },
    async events({from = 0} = {}) {
        return events.filter((e) => e.index >= from);
    },
    async wsClose() {
        if (ws) {
            ws.close();
            ws = null;
        }
        return {};
    },
    async exit() {
        setImmediate(() => process.exit(0));
        return {};
    },
};

const rl = readline.createInterface({input: process.stdin});
rl.on('line', async (line) => {
    if (!line.trim()) {
        return;
    }
    let req;
    try {
        req = JSON.parse(line);
    } catch (e) {
        process.stdout.write(JSON.stringify({id: null, ok: false, error: {message: 'bad json: ' + e.message}}) + '\n');
        return;
    }
    try {
        const fn = commands[req.cmd];
        if (!fn) {
            throw new Error('unknown command ' + req.cmd);
        }
        const result = await fn(req.args || {});
        process.stdout.write(JSON.stringify({id: req.id, ok: true, result: result === undefined ? null : result}) + '\n');
    } catch (e) {
        process.stdout.write(JSON.stringify({
            id: req.id,
            ok: false,
            error: {
                message: e.message,
                server_error_id: e.server_error_id,
                status_code: e.status_code,
                url: e.url,
            },
        }) + '\n');
    }
});
rl.on('close', () => process.exit(0));
process.stdout.write(JSON.stringify({ready: true}) + '\n');
