// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "../lib/EIP712.sol";
import {Signatures} from "../lib/Signatures.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";

/// @title ChannelRegistry
/// @notice Many two-party payment channels in one contract. Participants lock ETH or one
///         ERC-20 here, exchange co-signed `BalanceProof`s off-chain, and only the net result
///         is paid out: at once when both sign a `CooperativeClose` (valid until its expiry
///         and only against the funding it was signed on), or after a challenge
///         period when one side closes alone and the other (or a watching service) may answer
///         with a newer proof.
/// @dev Storage is kept small on purpose (gas): a channel's immutable parameters are not
///      stored; its id is `keccak256(abi.encode(ChannelParams))` and every call passes the
///      parameters back in calldata, where they are checked against the id (as Nitro does).
///      A channel uses two slots while open and a third only while a unilateral close is
///      being challenged; all are deleted on settlement.
///
///      Balances are derived from running totals, as in Raiden: a `BalanceProof` carries the
///      total each side has ever transferred to the other, so deposits and withdrawals never
///      need a new off-chain state, and
///          balanceA = depositA - withdrawnA - transferredA + transferredB
///      (clamped to [0, channel total], so a stale proof can hurt only whoever submits it).
///      `lockedA`, `lockedB` and `locksRoot` carry pending hash-locked transfers; until an
///      `unlock` exists, a locked amount is simply still its sender's at settlement, which is
///      what an expired lock would become.
///
///      A token deposit is credited with what actually arrived (the registry's balance after the
///      `transferFrom` minus before), not the amount asked for: with a fee-on-transfer token the
///      nominal amount would leave the registry short and the last settler of that token unpaid.
///
///      When both participants propose the same nonce at once off-chain (a crossing), A's proposal
///      wins; `updateState` therefore also takes, at the closing nonce, a proof that lowers A's
///      balance (see there).
contract ChannelRegistry {
    // ----------------------------------------------------------------- types

    /// @notice Everything that identifies a channel and never changes while it lives.
    /// @dev `nonce` is the registry's channel counter at open, so a channel id is never reused.
    struct ChannelParams {
        address participantA;
        address participantB;
        address token; // address(0) = ETH
        uint32 challengePeriod; // seconds
        uint64 nonce;
    }

    /// @notice The off-chain state both participants sign (EIP-712 `BalanceProof`).
    struct BalanceProof {
        bytes32 channelId;
        uint64 nonce; // strictly increasing; 0 = the opening state, needs no signature
        uint256 transferredA; // running total A has paid B
        uint256 transferredB; // running total B has paid A
        uint256 lockedA; // part of A's balance held by pending hash-locks
        uint256 lockedB;
        bytes32 locksRoot; // Merkle root of the pending hash-locks (0 = none)
    }

    /// @notice The final balances both participants sign (EIP-712 `CooperativeClose`, after
    ///         `channelId` and `messageType`), bound to the funding they were computed on.
    /// @dev Without `expiry` and the four running totals a signed but unsubmitted close would
    ///      stay valid for as long as the channel lives: after a deposit and an equal withdrawal
    ///      the total matches again and anyone holding it could pay out balances the parties
    ///      have long moved on from. The totals only ever grow, so any deposit or withdrawal
    ///      voids the close for good; `expiry` bounds it in time otherwise (as Raiden's withdraw).
    ///      All fields are static, so `abi.encode` lays them out as EIP-712 `encodeData` does.
    struct CooperativeClose {
        uint256 balanceA; // what A receives
        uint256 balanceB; // what B receives
        uint256 depositA; // the channel's running totals when the close was signed
        uint256 depositB;
        uint256 withdrawnA;
        uint256 withdrawnB;
        uint64 expiry; // last block timestamp at which the close is valid
    }

    /// @dev Slot 0 and 1 of a channel; slot 2 (`closingBalanceA`) only while closing.
    struct Channel {
        uint96 depositA;
        uint96 depositB;
        uint40 settleAt; // 0 while open
        Status status;
        uint96 withdrawnA;
        uint96 withdrawnB;
        uint64 closingNonce;
    }

    enum Status {
        None,
        Open,
        ClosedByA,
        ClosedByB
    }

    // ------------------------------------------------------ typed data (EIP-712)

    /// @notice Message-type field of each signed struct: one signature is never valid for two purposes.
    uint8 public constant MSG_BALANCE_PROOF = 1;
    uint8 public constant MSG_WITHDRAW = 2;
    uint8 public constant MSG_COOPERATIVE_CLOSE = 3;

    /// @notice EIP-712 type hashes; `l2/channels/messages.py` declares the same types.
    bytes32 public constant BALANCE_PROOF_TYPEHASH = keccak256(
        "BalanceProof(bytes32 channelId,uint8 messageType,uint64 nonce,uint256 transferredA,"
        "uint256 transferredB,uint256 lockedA,uint256 lockedB,bytes32 locksRoot)"
    );
    bytes32 public constant WITHDRAW_TYPEHASH = keccak256(
        "Withdraw(bytes32 channelId,uint8 messageType,address participant,uint256 totalWithdraw,uint64 expiry)"
    );
    bytes32 public constant COOPERATIVE_CLOSE_TYPEHASH = keccak256(
        "CooperativeClose(bytes32 channelId,uint8 messageType,uint256 balanceA,uint256 balanceB,uint256 depositA,"
        "uint256 depositB,uint256 withdrawnA,uint256 withdrawnB,uint64 expiry)"
    );

    /// @notice EIP-712 domain name and version (with chainId and this contract's address).
    string public constant NAME = "ChannelRegistry";
    string public constant VERSION = "1";

    // ------------------------------------------------------------------ state

    /// @notice Shortest and longest challenge period a channel may choose at open.
    uint32 public immutable minChallengePeriod;
    uint32 public immutable maxChallengePeriod;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedDomainSeparator;

    /// @notice The next channel's `nonce` (starts at 1; one more per channel ever opened).
    uint64 public channelCount;

    mapping(bytes32 channelId => Channel) private channels;
    mapping(bytes32 channelId => uint256) private closingBalanceA;

    /// @notice Payouts whose push failed, claimable with `claim` (token => account => amount).
    mapping(address token => mapping(address account => uint256)) public pending;

    /// @dev Gas forwarded with an ETH payout: enough for a smart-contract wallet, too little to
    ///      grief the caller (a failed push is credited to `pending` instead).
    uint256 private constant PAYOUT_GAS = 50_000;

    /// @dev Set while a token deposit is being pulled. The credit is the balance after minus the
    ///      balance before, so a second pull nested inside the first (re-entered from the token or
    ///      the depositor during `transferFrom`) would be counted twice: it is refused. Transient
    ///      storage (EIP-1153): 100 gas a write, and nothing left in state after the transaction.
    bool private transient pulling;

    // ----------------------------------------------------------------- events

    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed participantA,
        address indexed participantB,
        address token,
        uint32 challengePeriod,
        uint64 nonce
    );
    /// @dev `amount` is what was credited: for a token, what actually arrived, which a fee-on-transfer
    ///      token makes less than the amount the depositor asked for.
    event Deposited(bytes32 indexed channelId, address indexed participant, uint256 amount, uint256 totalDeposit);
    event Withdrawn(bytes32 indexed channelId, address indexed participant, uint256 amount, uint256 totalWithdraw);
    event ChannelClosed(bytes32 indexed channelId, address indexed closer, uint64 nonce, uint256 settleAt);
    event StateUpdated(bytes32 indexed channelId, address indexed submitter, uint64 nonce);
    event ChannelSettled(bytes32 indexed channelId, uint256 payoutA, uint256 payoutB);
    event CooperativelyClosed(bytes32 indexed channelId, uint256 payoutA, uint256 payoutB);
    event PayoutDeferred(address indexed token, address indexed account, uint256 amount);
    event PendingClaimed(address indexed token, address indexed account, uint256 amount);

    // ----------------------------------------------------------------- errors

    error InvalidChallengeBounds(uint256 min, uint256 max);
    error ChallengePeriodOutOfBounds(uint256 period, uint256 min, uint256 max);
    error InvalidPartner(address partner);
    error TokenHasNoCode(address token);
    error WrongEthValue(uint256 sent, uint256 expected);
    error ChannelNotOpen(bytes32 channelId);
    error ChannelNotClosing(bytes32 channelId);
    error NotParticipant(address account);
    error AmountTooLarge(uint256 amount);
    error ZeroAmount();
    error WrongChannel(bytes32 expected, bytes32 got);
    error NonceNotIncreasing(uint64 current, uint64 submitted);
    /// @dev At the closing nonce only a proof lowering A's balance, a crossing's winner, may replace the closing one.
    error NotCrossingWinner(uint64 nonce, uint256 closingBalanceA, uint256 submittedBalanceA);
    error SignerMismatch(address expected, address recovered);
    error WithdrawExpired(uint256 expiry, uint256 now_);
    error WithdrawNotIncreasing(uint256 current, uint256 submitted);
    error WithdrawExceedsDeposits(uint256 totalWithdraw, uint256 available);
    error BalancesDoNotMatchDeposits(uint256 sum, uint256 total);
    error CooperativeCloseExpired(uint256 expiry, uint256 now_);
    /// @dev The close was signed against other running totals (the channel's current ones are given).
    error CooperativeCloseFundingMismatch(uint256 depositA, uint256 depositB, uint256 withdrawnA, uint256 withdrawnB);
    error ChallengePeriodNotOver(uint256 settleAt);
    error ChallengePeriodOver(uint256 settleAt);
    error TokenTransferFailed(address token);
    /// @dev `balanceOf(registry)` reverted or returned no word, so what a deposit delivered cannot be measured.
    error TokenBalanceUnreadable(address token);
    /// @dev The token's `transferFrom` succeeded but the registry's balance did not grow.
    error DepositNotReceived(address token, uint256 amount);
    /// @dev A token deposit was attempted from inside another one's `transferFrom`.
    error TokenPullReentered(address token);
    error EthTransferFailed(address to);
    error NothingToClaim();

    constructor(uint32 minChallengePeriod_, uint32 maxChallengePeriod_) {
        if (minChallengePeriod_ == 0 || minChallengePeriod_ > maxChallengePeriod_) {
            revert InvalidChallengeBounds(minChallengePeriod_, maxChallengePeriod_);
        }
        minChallengePeriod = minChallengePeriod_;
        maxChallengePeriod = maxChallengePeriod_;
        channelCount = 1; // nonzero from the start: every open then rewrites a warm-able slot (5k, not 22k)
        cachedChainId = block.chainid;
        cachedDomainSeparator = _buildDomainSeparator();
    }

    // --------------------------------------------------------------- open/fund

    /// @notice Open a channel between the caller (participant A) and `partner`, optionally
    ///         with the caller's first deposit in the same transaction.
    /// @param partner Participant B.
    /// @param token ERC-20 held by the channel, or address(0) for ETH.
    /// @param challengePeriod Seconds the other side has to answer a unilateral close.
    /// @param amount Initial deposit of the caller (ETH: must equal msg.value; token: pulled
    ///        with transferFrom, so approve this contract first; what arrives is credited).
    /// @return channelId keccak256(abi.encode(params)); the params are in `ChannelOpened`.
    function open(address partner, address token, uint32 challengePeriod, uint256 amount)
        external
        payable
        returns (bytes32 channelId)
    {
        if (partner == address(0) || partner == msg.sender) revert InvalidPartner(partner);
        if (challengePeriod < minChallengePeriod || challengePeriod > maxChallengePeriod) {
            revert ChallengePeriodOutOfBounds(challengePeriod, minChallengePeriod, maxChallengePeriod);
        }
        if (token != address(0) && token.code.length == 0) revert TokenHasNoCode(token);
        if (amount > type(uint96).max) revert AmountTooLarge(amount);
        _checkEthValue(token, amount);
        // Tokens are pulled first, before the channel exists: what arrived is what is credited, and
        // a call re-entering during the pull finds nothing of this channel to act on.
        uint256 credited = amount;
        if (token != address(0) && amount > 0) {
            credited = _pullToken(token, msg.sender, amount);
            if (credited > type(uint96).max) revert AmountTooLarge(credited);
        }

        uint64 nonce = channelCount;
        channelCount = nonce + 1;
        channelId = keccak256(abi.encode(ChannelParams(msg.sender, partner, token, challengePeriod, nonce)));
        Channel storage ch = channels[channelId];
        ch.status = Status.Open;
        ch.depositA = uint96(credited);
        emit ChannelOpened(channelId, msg.sender, partner, token, challengePeriod, nonce);
        if (credited > 0) emit Deposited(channelId, msg.sender, credited, credited);
    }

    /// @notice Add to the caller's deposit in an open channel.
    /// @param p The channel's parameters (checked against its id).
    /// @param amount ETH (must equal msg.value) or tokens (pulled with transferFrom; what arrives
    ///        is credited, see `Deposited`).
    function deposit(ChannelParams calldata p, uint256 amount) external payable {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        if (ch.status != Status.Open) revert ChannelNotOpen(channelId);
        if (amount == 0) revert ZeroAmount();
        _checkEthValue(p.token, amount);
        uint256 credited = amount;
        if (p.token != address(0)) {
            credited = _pullToken(p.token, msg.sender, amount);
            // The pull ran foreign code, which may have closed the channel: a credit after the
            // closing balance was fixed would be paid to the wrong side.
            if (ch.status != Status.Open) revert ChannelNotOpen(channelId);
        }
        uint256 total;
        if (msg.sender == p.participantA) {
            total = ch.depositA + credited;
            if (total > type(uint96).max) revert AmountTooLarge(total);
            ch.depositA = uint96(total);
        } else if (msg.sender == p.participantB) {
            total = ch.depositB + credited;
            if (total > type(uint96).max) revert AmountTooLarge(total);
            ch.depositB = uint96(total);
        } else {
            revert NotParticipant(msg.sender); // undoes a token pull above as well
        }
        emit Deposited(channelId, msg.sender, credited, total);
    }

    // ---------------------------------------------------------------- withdraw

    /// @notice Pay part of a participant's balance out without closing the channel.
    /// @dev Both participants sign `Withdraw(channelId, participant, totalWithdraw, expiry)`.
    ///      `totalWithdraw` is a running total, so replaying a used message pays nothing and
    ///      reverts. Anyone may submit; the money always goes to `participant`.
    /// @param p The channel's parameters.
    /// @param participant Who receives the withdrawal.
    /// @param totalWithdraw Participant's new running total of withdrawals.
    /// @param expiry Last timestamp at which the message is valid.
    /// @param sigA Participant A's signature on the Withdraw message.
    /// @param sigB Participant B's signature.
    function withdraw(
        ChannelParams calldata p,
        address participant,
        uint256 totalWithdraw,
        uint64 expiry,
        bytes calldata sigA,
        bytes calldata sigB
    ) external {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        if (ch.status != Status.Open) revert ChannelNotOpen(channelId);
        if (block.timestamp > expiry) revert WithdrawExpired(expiry, block.timestamp);
        bytes32 digest = _digest(
            keccak256(abi.encode(WITHDRAW_TYPEHASH, channelId, MSG_WITHDRAW, participant, totalWithdraw, expiry))
        );
        _checkSigner(digest, sigA, p.participantA);
        _checkSigner(digest, sigB, p.participantB);

        uint256 previous;
        if (participant == p.participantA) {
            previous = ch.withdrawnA;
            ch.withdrawnA = uint96(_checkedWithdrawTotal(ch, previous, totalWithdraw));
        } else if (participant == p.participantB) {
            previous = ch.withdrawnB;
            ch.withdrawnB = uint96(_checkedWithdrawTotal(ch, previous, totalWithdraw));
        } else {
            revert NotParticipant(participant);
        }
        uint256 amount = totalWithdraw - previous;
        emit Withdrawn(channelId, participant, amount, totalWithdraw);
        _payout(p.token, participant, amount);
    }

    // ------------------------------------------------------- cooperative close

    /// @notice Close and pay out at once, both participants having signed the final balances.
    /// @dev Never replayable: the close is valid only until `c.expiry` and only while the
    ///      channel's running totals are exactly those it was signed against (they only grow,
    ///      so once any deposit or withdrawal happened it is void for good); settling deletes
    ///      the channel and ids are never reused.
    /// @param p The channel's parameters.
    /// @param c Final balances (`balanceA + balanceB` must equal what the channel holds), the
    ///        running totals they were computed on, and the expiry.
    /// @param sigA A's signature on `CooperativeClose(channelId, messageType, ...c)`.
    /// @param sigB B's signature on the same message.
    function cooperativeClose(
        ChannelParams calldata p,
        CooperativeClose calldata c,
        bytes calldata sigA,
        bytes calldata sigB
    ) external {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        if (ch.status != Status.Open) revert ChannelNotOpen(channelId);
        if (block.timestamp > c.expiry) revert CooperativeCloseExpired(c.expiry, block.timestamp);
        if (
            c.depositA != ch.depositA || c.depositB != ch.depositB || c.withdrawnA != ch.withdrawnA
                || c.withdrawnB != ch.withdrawnB
        ) {
            revert CooperativeCloseFundingMismatch(ch.depositA, ch.depositB, ch.withdrawnA, ch.withdrawnB);
        }
        bytes32 digest =
            _digest(keccak256(abi.encode(COOPERATIVE_CLOSE_TYPEHASH, channelId, MSG_COOPERATIVE_CLOSE, c)));
        _checkSigner(digest, sigA, p.participantA);
        _checkSigner(digest, sigB, p.participantB);
        uint256 total = _total(ch);
        if (c.balanceA + c.balanceB != total) revert BalancesDoNotMatchDeposits(c.balanceA + c.balanceB, total);

        delete channels[channelId];
        emit CooperativelyClosed(channelId, c.balanceA, c.balanceB);
        _payout(p.token, p.participantA, c.balanceA);
        _payout(p.token, p.participantB, c.balanceB);
    }

    // --------------------------------------------------------- dispute path

    /// @notice Close alone with the latest proof the counterparty signed; starts the challenge period.
    /// @param p The channel's parameters.
    /// @param proof The latest `BalanceProof` (nonce 0 = nothing was ever paid; no signature needed).
    /// @param counterpartySig The other participant's signature on `proof`.
    function close(ChannelParams calldata p, BalanceProof calldata proof, bytes calldata counterpartySig)
        external
    {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        if (ch.status != Status.Open) revert ChannelNotOpen(channelId);
        Status closedBy;
        address counterparty;
        if (msg.sender == p.participantA) {
            (closedBy, counterparty) = (Status.ClosedByA, p.participantB);
        } else if (msg.sender == p.participantB) {
            (closedBy, counterparty) = (Status.ClosedByB, p.participantA);
        } else {
            revert NotParticipant(msg.sender);
        }
        uint256 balanceA;
        if (proof.nonce == 0) {
            // The opening state: nothing transferred, so it needs (and trusts) no amounts.
            balanceA = _balanceA(ch, 0, 0);
        } else {
            _checkSigner(_proofDigest(channelId, proof), counterpartySig, counterparty);
            balanceA = _balanceA(ch, proof.transferredA, proof.transferredB);
        }

        uint256 settleAt = block.timestamp + p.challengePeriod;
        ch.status = closedBy;
        ch.settleAt = uint40(settleAt);
        ch.closingNonce = proof.nonce;
        closingBalanceA[channelId] = balanceA;
        emit ChannelClosed(channelId, msg.sender, proof.nonce, settleAt);
    }

    /// @notice Replace the closing proof during the challenge period: with a newer one, or with
    ///         the winner of a crossing at the same nonce.
    /// @dev The closer's signature is always required (it is the closer who might cheat); the
    ///      non-closing participant's too unless it is the caller, so a watching service holding
    ///      a proof signed by both can answer on its behalf.
    ///
    ///      At the closing nonce a proof is taken only if it gives A a strictly lower balance.
    ///      Off-chain, when both propose the same nonce at once, A's proposal wins: B acknowledges
    ///      it and proposes its own payment again at the next nonce. B has then signed two states
    ///      with that nonce, and A holds B's refused one, which pays A more; with this rule B (or
    ///      a watcher) replaces it by A's, which A signed. It cannot be turned against anyone: an
    ///      honest A signs one state per nonce, so no other A-signed state exists at a nonce A
    ///      closed with; an honest B signs a second one only as a crossing's loser, and that one
    ///      (B paying A) raises A's balance, so it never replaces A's proposal.
    /// @param p The channel's parameters.
    /// @param proof A proof with a higher nonce than the closing one, or the same nonce and a
    ///        lower balance for A.
    /// @param sigA A's signature on `proof` (may be empty if A is the non-closing caller).
    /// @param sigB B's signature on `proof` (may be empty if B is the non-closing caller).
    function updateState(ChannelParams calldata p, BalanceProof calldata proof, bytes calldata sigA, bytes calldata sigB)
        external
    {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        Status status = ch.status;
        if (status != Status.ClosedByA && status != Status.ClosedByB) revert ChannelNotClosing(channelId);
        if (block.timestamp >= ch.settleAt) revert ChallengePeriodOver(ch.settleAt);
        if (proof.nonce <= ch.closingNonce) _checkCrossingWinner(ch, channelId, proof);
        bytes32 digest = _proofDigest(channelId, proof);
        if (status == Status.ClosedByA) {
            _checkSigner(digest, sigA, p.participantA);
            if (msg.sender != p.participantB) _checkSigner(digest, sigB, p.participantB);
        } else {
            _checkSigner(digest, sigB, p.participantB);
            if (msg.sender != p.participantA) _checkSigner(digest, sigA, p.participantA);
        }
        ch.closingNonce = proof.nonce;
        closingBalanceA[channelId] = _balanceA(ch, proof.transferredA, proof.transferredB);
        emit StateUpdated(channelId, msg.sender, proof.nonce);
    }

    /// @notice After the challenge period, pay both participants per the last accepted proof.
    /// @param p The channel's parameters.
    function settle(ChannelParams calldata p) external {
        bytes32 channelId = _id(p);
        Channel storage ch = channels[channelId];
        Status status = ch.status;
        if (status != Status.ClosedByA && status != Status.ClosedByB) revert ChannelNotClosing(channelId);
        if (block.timestamp < ch.settleAt) revert ChallengePeriodNotOver(ch.settleAt);
        uint256 total = _total(ch);
        uint256 payoutA = closingBalanceA[channelId];
        uint256 payoutB = total - payoutA;

        delete channels[channelId];
        delete closingBalanceA[channelId];
        emit ChannelSettled(channelId, payoutA, payoutB);
        _payout(p.token, p.participantA, payoutA);
        _payout(p.token, p.participantB, payoutB);
    }

    /// @notice Collect payouts that could not be pushed (receiver reverted or ran out of gas).
    /// @param token The asset (address(0) = ETH).
    function claim(address token) external {
        uint256 amount = pending[token][msg.sender];
        if (amount == 0) revert NothingToClaim();
        pending[token][msg.sender] = 0;
        emit PendingClaimed(token, msg.sender, amount);
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert EthTransferFailed(msg.sender);
        } else if (!TokenTransfer.tryTransfer(token, msg.sender, amount)) {
            revert TokenTransferFailed(token);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice A channel's on-chain state (all zero once settled or if it never existed).
    /// @return channel Deposits, withdrawals, status (0 none, 1 open, 2/3 closed by A/B), closing nonce, settleAt.
    /// @return closingBalance A's balance under the proof accepted so far (only while closing).
    function channelState(bytes32 channelId) external view returns (Channel memory channel, uint256 closingBalance) {
        return (channels[channelId], closingBalanceA[channelId]);
    }

    /// @notice The channel id of `p`: keccak256(abi.encode(p)).
    function channelIdOf(ChannelParams calldata p) external pure returns (bytes32) {
        return _id(p);
    }

    /// @notice The EIP-712 domain separator (name "ChannelRegistry", version "1").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparator();
    }

    // --------------------------------------------------------------- internal

    function _id(ChannelParams calldata p) private pure returns (bytes32) {
        return keccak256(abi.encode(p));
    }

    function _total(Channel storage ch) private view returns (uint256) {
        return uint256(ch.depositA) + ch.depositB - ch.withdrawnA - ch.withdrawnB;
    }

    /// @dev A's balance under `proof`, clamped to [0, total]: a proof older than a withdrawal
    ///      may say a side owns less than nothing; that side simply gets nothing.
    function _balanceA(Channel storage ch, uint256 transferredA, uint256 transferredB) private view returns (uint256) {
        uint256 credit = uint256(ch.depositA) + transferredB;
        uint256 debit = uint256(ch.withdrawnA) + transferredA;
        if (debit >= credit) return 0;
        uint256 balance = credit - debit;
        uint256 total = _total(ch);
        return balance > total ? total : balance;
    }

    /// @dev A proof not newer than the closing one may replace it only at the same nonce and with a
    ///      lower balance for A (see `updateState`); kept off the common path, a newer proof.
    function _checkCrossingWinner(Channel storage ch, bytes32 channelId, BalanceProof calldata proof) private view {
        uint64 closingNonce = ch.closingNonce;
        if (proof.nonce < closingNonce) revert NonceNotIncreasing(closingNonce, proof.nonce);
        uint256 submitted = _balanceA(ch, proof.transferredA, proof.transferredB);
        uint256 closing = closingBalanceA[channelId];
        if (submitted >= closing) revert NotCrossingWinner(closingNonce, closing, submitted);
    }

    function _checkedWithdrawTotal(Channel storage ch, uint256 previous, uint256 totalWithdraw)
        private
        view
        returns (uint256)
    {
        if (totalWithdraw <= previous) revert WithdrawNotIncreasing(previous, totalWithdraw);
        if (totalWithdraw > type(uint96).max) revert AmountTooLarge(totalWithdraw);
        uint256 available = _total(ch);
        if (totalWithdraw - previous > available) revert WithdrawExceedsDeposits(totalWithdraw, available);
        return totalWithdraw;
    }

    function _proofDigest(bytes32 channelId, BalanceProof calldata proof) private view returns (bytes32) {
        if (proof.channelId != channelId) revert WrongChannel(channelId, proof.channelId);
        return _digest(
            keccak256(
                abi.encode(
                    BALANCE_PROOF_TYPEHASH,
                    channelId,
                    MSG_BALANCE_PROOF,
                    proof.nonce,
                    proof.transferredA,
                    proof.transferredB,
                    proof.lockedA,
                    proof.lockedB,
                    proof.locksRoot
                )
            )
        );
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return EIP712.digest(_domainSeparator(), structHash);
    }

    function _domainSeparator() private view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedDomainSeparator : _buildDomainSeparator();
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return EIP712.domainSeparator(NAME, VERSION);
    }

    function _checkSigner(bytes32 digest, bytes calldata signature, address expected) private pure {
        address signer = Signatures.recover(digest, signature);
        if (signer != expected) revert SignerMismatch(expected, signer);
    }

    function _checkEthValue(address token, uint256 amount) private view {
        uint256 expected = token == address(0) ? amount : 0;
        if (msg.value != expected) revert WrongEthValue(msg.value, expected);
    }

    /// @dev Push a payout; if the receiver (or token) refuses, credit `pending` so that neither
    ///      side can block the other's payout.
    function _payout(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAYOUT_GAS}("");
        } else {
            ok = TokenTransfer.tryTransfer(token, to, amount);
        }
        if (!ok) {
            pending[token][to] += amount;
            emit PayoutDeferred(token, to, amount);
        }
    }

    /// @dev Pull `amount` with `transferFrom` (returning `true` or nothing) and return what actually
    ///      arrived: the registry's balance after minus before. A token that charges a fee delivers
    ///      less; anything sent out by a call re-entering meanwhile is subtracted, which can only
    ///      lower the depositor's own credit, never let the registry owe more than it holds.
    function _pullToken(address token, address from, uint256 amount) private returns (uint256) {
        if (pulling) revert TokenPullReentered(token);
        pulling = true;
        uint256 before = _tokenBalance(token);
        if (!TokenTransfer.tryTransferFrom(token, from, address(this), amount)) revert TokenTransferFailed(token);
        uint256 afterPull = _tokenBalance(token);
        if (afterPull <= before) revert DepositNotReceived(token, amount);
        pulling = false;
        return afterPull - before;
    }

    function _tokenBalance(address token) private view returns (uint256) {
        (bool ok, uint256 balance) = TokenTransfer.tryBalanceOf(token, address(this));
        if (!ok) revert TokenBalanceUnreadable(token);
        return balance;
    }
}
