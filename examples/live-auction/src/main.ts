import { createOutbidClient, OutbidClientError, type Auction, type BidInput, type BidResult, type LiveAuction } from '@outbid/client';

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

/** The newest state we know: the stream's, or a fresher GET (after our own bid) until the stream catches up. */
function newest(live: LiveAuction | null, auction: Auction) {
  if (live && live.version >= auction.version) return live;
  const { status, currentPrice, currentWinnerId: winnerId, version, reserveMet, buyNowPrice, buyNowAvailable } = auction;
  return { status, currentPrice, winnerId, version, reserveMet, buyNowPrice, buyNowAvailable };
}

const REASONS: Partial<Record<string, string>> = {
  OUTBID_BY_PROXY: "Outbid at once by another bidder's maximum",
  BUY_NOW_UNAVAILABLE: 'Buy It Now is no longer available',
  ALREADY_LEADING: 'You are already leading',
  BID_TOO_LOW: 'Too low',
};

async function openAuction(id: string) {
  let auction = await client.getAuction(id);
  let live: LiveAuction | null = null;
  let wasLeading = false;
  $('title').textContent = auction.postId;
  $('outbid').hidden = true;
  $('result').hidden = true;
  $('bid-answer').textContent = '';
  const bidButton = $<HTMLButtonElement>('bid');
  const maxButton = $<HTMLButtonElement>('bid-max');
  const buyButton = $<HTMLButtonElement>('buy-now');
  let busy = false;

  const render = () => {
    const state = newest(live, auction);
    const price = state.currentPrice;
    const leader = state.winnerId;
    $('price').textContent = dollars(price);
    $('leader').textContent = leader ?? 'nobody yet';
    const open = state.status === 'active' || state.status === 'scheduled';
    bidButton.disabled = busy || !open || leader === me;
    bidButton.textContent = `Bid ${dollars(auction.minNextBid)}`;
    maxButton.disabled = busy || !open;
    maxButton.textContent = leader === me ? 'Raise my maximum' : 'Bid up to my maximum';
    // Present only when the seller set a reserve; its amount is never sent.
    $('reserve').hidden = state.reserveMet === undefined;
    $('reserve').className = state.reserveMet ? 'muted' : 'notice';
    $('reserve').textContent = state.reserveMet ? 'Reserve met' : 'Reserve not met';
    const buyNowPrice = state.buyNowPrice ?? auction.buyNowPrice; // set at creation, never changes
    buyButton.hidden = !open || state.buyNowAvailable !== true || buyNowPrice === undefined;
    buyButton.disabled = busy;
    if (buyNowPrice !== undefined) buyButton.textContent = `Buy It Now for ${dollars(buyNowPrice)}`;
    if (!open) {
      $('result').hidden = false;
      $('result').textContent =
        state.reserveMet === false ? 'Ended — the reserve was not met: no winner' : leader ? `Ended — ${leader} won at ${dollars(price)}` : 'Ended without bids';
      $('outbid').hidden = true;
    }
  };

  /** Sends a bid or a buy and says what happened; the stream brings everyone else the new state. */
  const decide = async (send: () => Promise<BidResult>, input?: BidInput) => {
    busy = true;
    render();
    try {
      const result = await send();
      if (result.status === 'accepted') {
        wasLeading = true;
        $('outbid').hidden = true;
        $('bid-answer').textContent = input
          ? input.maxAmount !== undefined
            ? `You are leading at ${dollars(result.currentPrice)} (your maximum of ${dollars(input.maxAmount)} stays secret)`
            : 'You are leading'
          : `You bought it for ${dollars(result.amount)}`;
      } else {
        const why = REASONS[result.reason] ?? result.reason;
        $('bid-answer').textContent = `${why}: the price is now ${dollars(result.currentPrice)}, next bid at least ${dollars(result.minNextBid)}`;
        if (result.reason === 'OUTBID_BY_PROXY') $('outbid').hidden = false;
      }
    } catch (error) {
      $('bid-answer').textContent = error instanceof OutbidClientError ? `${error.code}: ${error.message}` : String(error);
    }
    busy = false;
    auction = await client.getAuction(id).catch(() => auction);
    render();
  };

  bidButton.onclick = () => void decide(() => client.bid(id, { amount: auction.minNextBid }), { amount: auction.minNextBid });
  $<HTMLFormElement>('max-form').onsubmit = (event) => {
    event.preventDefault();
    const maxAmount = Math.round(Number($<HTMLInputElement>('max-amount').value) * 100);
    if (!Number.isSafeInteger(maxAmount) || maxAmount <= 0) {
      $('bid-answer').textContent = 'Enter your maximum in dollars, e.g. 30';
      return;
    }
    void decide(() => client.bid(id, { maxAmount }), { maxAmount });
  };
  buyButton.onclick = () => void decide(() => client.buyNow(id));

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
  const optionalCents = (testId: string) => {
    const value = $<HTMLInputElement>(testId).value.trim();
    return value ? Math.round(Number(value) * 100) : undefined;
  };
  const reservePrice = optionalCents('reserve-price');
  const buyNowPrice = optionalCents('buy-now-price');
  const created = await client.createAuction({
    postId: `${$<HTMLInputElement>('post').value}-${Date.now().toString(36)}`,
    startAt: new Date().toISOString(),
    endAt: new Date(Date.now() + seconds * 1_000).toISOString(),
    startPrice: Math.round(Number($<HTMLInputElement>('start-price').value) * 100),
    incrementTable: [
      { from: 0, increment: 5 }, { from: 100, increment: 25 }, { from: 500, increment: 50 }, { from: 2_500, increment: 100 }, { from: 10_000, increment: 250 },
    ],
    softClose: { windowMs: 30_000, extendMs: 30_000, mode: 'reset' },
    ...(reservePrice === undefined ? {} : { reservePrice }),
    ...(buyNowPrice === undefined ? {} : { buyNowPrice }),
  });
  location.hash = `#/auction/${created.auctionId}`;
  void refreshList();
};
window.addEventListener('hashchange', route);
setInterval(() => void refreshList(), 5_000);
if (me && token) showSignedIn();
