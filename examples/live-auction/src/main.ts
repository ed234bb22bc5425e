import { createOutbidClient, type Auction, type LiveAuction } from '@outbid/client';

const $ = <T extends HTMLElement>(testId: string) => document.querySelector<T>(`[data-testid="${testId}"]`)!;
const section = (id: string) => document.getElementById(id)!;
const dollars = (minor: number) => `$${(minor / 100).toFixed(2)}`;

// Each tab signs in on its own (sessionStorage), so two windows can be two bidders.
let me = sessionStorage.getItem('outbid.me');
let token = sessionStorage.getItem('outbid.token');
const client = createOutbidClient({ baseUrl: location.origin, getToken: () => token });

async function signIn(name: string, role: 'bidder' | 'creator') {
  const res = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: name, roles: [role, 'viewer'] }) });
  if (!res.ok) throw new Error('dev tokens are not available on this server');
  token = ((await res.json()) as { token: string }).token;
  me = name;
  sessionStorage.setItem('outbid.me', name);
  sessionStorage.setItem('outbid.token', token);
  sessionStorage.setItem('outbid.role', role);
  showSignedIn();
}

function showSignedIn() {
  if (!me) return;
  section('signin').hidden = true;
  section('create').hidden = sessionStorage.getItem('outbid.role') !== 'creator';
  $('me').textContent = `signed in as ${me}`;
  void refreshList();
  route();
}

async function refreshList() {
  const list = $('auctions');
  const page = await fetch('/auctions?status=active&limit=20', { headers: { authorization: `Bearer ${token}` } });
  if (!page.ok) return;
  const { items } = (await page.json()) as { items: Auction[] };
  list.replaceChildren(
    ...items.map((a) => {
      const li = document.createElement('li');
      const link = document.createElement('a');
      link.href = `#/auction/${a.id}`;
      link.textContent = `${a.postId} — ${dollars(a.currentPrice)}`;
      li.append(link);
      return li;
    }),
  );
}

let stopWatching: (() => void) | null = null;
let countdown: ReturnType<typeof setInterval> | null = null;

function route() {
  const match = /^#\/auction\/(.+)$/.exec(location.hash);
  stopWatching?.();
  if (countdown) clearInterval(countdown);
  section('auction').hidden = !match;
  if (match && me) void openAuction(decodeURIComponent(match[1]!));
}

async function openAuction(id: string) {
  let auction = await client.getAuction(id);
  let live: LiveAuction | null = null;
  let wasLeading = false;
  $('title').textContent = auction.postId;
  $('outbid').hidden = true;
  $('result').hidden = true;
  const bidButton = $<HTMLButtonElement>('bid');

  const render = () => {
    const price = live?.currentPrice ?? auction.currentPrice;
    const leader = live ? live.winnerId : auction.currentWinnerId;
    const status = live?.status ?? auction.status;
    $('price').textContent = dollars(price);
    $('leader').textContent = leader ?? 'nobody yet';
    const open = status === 'active' || status === 'scheduled';
    bidButton.disabled = !open || leader === me;
    bidButton.textContent = `Bid ${dollars(auction.minNextBid)}`;
    if (!open) {
      $('result').hidden = false;
      $('result').textContent = leader ? `Ended — ${leader} won at ${dollars(price)}` : 'Ended without bids';
      $('outbid').hidden = true;
    }
  };

  bidButton.onclick = async () => {
    bidButton.disabled = true;
    const result = await client.placeBid(id, auction.minNextBid);
    $('bid-answer').textContent = result.status === 'accepted' ? 'You are leading' : `${result.reason}: next bid at least ${dollars(result.minNextBid)}`;
    if (result.status === 'accepted') wasLeading = true;
    auction = await client.getAuction(id);
    render();
  };

  stopWatching = client.watchAuction(id, async ({ auction: state, connection }) => {
    $('connection').textContent = connection;
    if (state && state.version !== live?.version) {
      live = state;
      if (wasLeading && state.winnerId !== me) {
        $('outbid').hidden = false;
        $('bid-answer').textContent = '';
      }
      if (state.winnerId === me) {
        wasLeading = true;
        $('outbid').hidden = true;
      } else wasLeading = false;
      auction = await client.getAuction(id).catch(() => auction); // for minNextBid at the new price
    }
    render();
  }, { maxDelayMs: 3_000 }); // a live auction page should come back within seconds
  countdown = setInterval(() => {
    const endAt = live?.endAt ?? Date.parse(auction.endAt);
    const ms = client.remainingMs(endAt);
    $('countdown').textContent = `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1_000)).padStart(2, '0')}`;
  }, 250);
  render();
}

$('signin-bidder').onclick = () => void signIn($<HTMLInputElement>('name').value.trim(), 'bidder');
$('signin-creator').onclick = () => void signIn($<HTMLInputElement>('name').value.trim(), 'creator');
$('create').onclick = async () => {
  const seconds = Number($<HTMLInputElement>('duration').value);
  const created = await client.createAuction({
    postId: `${$<HTMLInputElement>('post').value}-${Date.now().toString(36)}`,
    startAt: new Date().toISOString(),
    endAt: new Date(Date.now() + seconds * 1_000).toISOString(),
    startPrice: Math.round(Number($<HTMLInputElement>('start-price').value) * 100),
    incrementTable: [
      { from: 0, increment: 5 }, { from: 100, increment: 25 }, { from: 500, increment: 50 }, { from: 2_500, increment: 100 }, { from: 10_000, increment: 250 },
    ],
    softClose: { windowMs: 30_000, extendMs: 30_000, mode: 'reset' },
  });
  location.hash = `#/auction/${created.auctionId}`;
  void refreshList();
};
window.addEventListener('hashchange', route);
setInterval(() => void refreshList(), 5_000);
if (me && token) showSignedIn();
