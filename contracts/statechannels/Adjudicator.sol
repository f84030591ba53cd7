// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "../lib/EIP712.sol";
import {Signatures} from "../lib/Signatures.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";
import {FixedPart, VariablePart, Signature, SignedVariablePart, IForceMoveApp} from "./ForceMove.sol";

/// @title Adjudicator
/// @notice Holds ETH and ERC-20 for many state channels and decides, when the participants stop
///         cooperating, which state counts. Off-chain, participants take turns signing states; on
///         chain:
///         - `conclude` with a final state everyone signed finalizes at once (one transaction);
///         - `challenge` with a supported state starts a timer; `checkpoint` (a newer supported
///           state) or `respond` (the next move, judged by the app) clears it; if nobody answers,
///           the challenged state's outcome becomes final: a silent participant loses by timeout;
///         - after finalization `transfer` pays the outcome out of the channel's holdings.
/// @dev One storage slot per channel (turnNumRecord, finalizesAt, fingerprint), as Nitro does:
///      the states themselves travel in calldata and are checked against the fingerprint.
///      A state is *supported* when either everyone signed it, or it ends a chain of n
///      consecutive states, each signed by its mover and each a valid transition from the one
///      before: then every participant has signed off on the history that leads to it.
///      Python twin of every rule: `l2/designs/statechannels/rules.py`.
contract Adjudicator {
    /// @dev The one slot of a channel. finalizesAt: 0 = open, in the future = challenged,
    ///      in the past (or now) = final. fingerprint = uint160 of
    ///      keccak256(abi.encode(turnNumRecord, finalizesAt, stateHash, outcomeHash)).
    struct ChannelRecord {
        uint48 turnNumRecord;
        uint48 finalizesAt;
        uint160 fingerprint;
    }

    /// @notice Part of a two-party ledger channel's holdings set aside for a virtual channel (`target`):
    ///         once both are final, `beneficiary` (a ledger participant) gets what the target's final
    ///         outcome gives its participant `targetIndex`, and the other ledger participant the rest.
    ///         A ledger keeps its guarantees in its appData as `abi.encode(Guarantee[])`.
    struct Guarantee {
        bytes32 target;
        uint256 amount; // the target's whole outcome total: what the guarantee funds
        uint8 beneficiary; // ledger participant index
        uint8 targetIndex; // the beneficiary's index among the target's participants
        uint8 funder; // ledger participant whose share the amount was taken from
    }

    /// @notice A final ledger channel as `claimGuarantee` takes it.
    struct FinalChannel {
        FixedPart fixedPart;
        VariablePart state;
        uint256[] owed;
    }

    /// @notice A final virtual channel as `claimGuarantee` takes it.
    struct FinalTarget {
        FixedPart fixedPart;
        bytes32 stateHash;
        uint256[] outcome;
    }

    /// @notice What lets a ledger participant challenge a channel its ledger guarantees.
    struct GuarantorProof {
        FixedPart ledger;
        SignedVariablePart ledgerState;
        uint256 index;
    }

    /// @notice Message types: one signature is never valid for two purposes.
    uint8 public constant MSG_STATE = 1;
    uint8 public constant MSG_CHALLENGE = 2;

    bytes32 public constant STATE_TYPEHASH = keccak256(
        "State(bytes32 channelId,uint8 messageType,uint256[] outcome,bytes appData,uint48 turnNum,bool isFinal)"
    );
    bytes32 public constant CHALLENGE_TYPEHASH =
        keccak256("Challenge(bytes32 channelId,uint8 messageType,bytes32 stateHash)");

    string public constant NAME = "Adjudicator";
    string public constant VERSION = "1";

    /// @dev Gas forwarded with an ETH payout: enough for a contract wallet, too little to grief the
    ///      caller; a refused push is credited to `pending` (claimed later) so nobody blocks the others.
    uint256 private constant PAYOUT_GAS = 50_000;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedDomainSeparator;

    mapping(bytes32 channelId => ChannelRecord) private records;
    /// @notice What each channel holds of each asset.
    mapping(address asset => mapping(bytes32 channelId => uint256)) public holdings;
    /// @notice Payouts whose push failed, claimable with `claim`.
    mapping(address asset => mapping(address account => uint256)) public pending;

    /// @notice Guarantees already paid out, by ledger channel and index: each is paid once.
    mapping(bytes32 ledgerId => mapping(uint256 index => bool)) public guaranteeClaimed;

    /// @dev Set while a token deposit is pulled: the credit is balance-after minus balance-before,
    ///      so a nested pull would be counted twice (transient storage, EIP-1153).
    bool private transient pulling;

    event Deposited(bytes32 indexed channelId, address indexed asset, uint256 credited, uint256 held);
    /// @dev Carries the challenged state: the opponent may never have seen it (its mover signed
    ///      it and kept it), and needs it to respond.
    event Challenged(bytes32 indexed channelId, uint48 turnNumRecord, uint48 finalizesAt, VariablePart state);
    event Checkpointed(bytes32 indexed channelId, uint48 turnNumRecord);
    /// @dev Carries the move, so the challenger can go on playing from it off-chain.
    event Responded(bytes32 indexed channelId, uint48 turnNumRecord, VariablePart state);
    /// @dev Carries what the record now holds (the final state's hash and outcome): someone who did not
    ///      sign it (a hub whose guarantee it pays, when the conclusion went through another contract
    ///      and is not in any transaction's input) still needs both to `transfer` or `claimGuarantee`.
    event Concluded(bytes32 indexed channelId, uint48 finalizesAt, bytes32 stateHash, uint256[] outcome);
    event Paid(bytes32 indexed channelId, uint256[] amounts, uint256 held);
    event GuaranteeClaimed(bytes32 indexed ledgerId, bytes32 indexed target, uint256 toBeneficiary, uint256 toOther);
    event PayoutDeferred(address indexed asset, address indexed account, uint256 amount);
    event PendingClaimed(address indexed asset, address indexed account, uint256 amount);

    error NoParticipants();
    error ZeroChallengeDuration();
    error WrongEthValue(uint256 sent, uint256 expected);
    error ZeroAmount();
    error HeldMismatch(uint256 expected, uint256 held);
    error ChannelFinalized(bytes32 channelId);
    error ChannelNotFinalized(bytes32 channelId, uint48 finalizesAt);
    error NoOngoingChallenge(bytes32 channelId);
    error TurnNumNotIncreased(uint48 record, uint48 submitted);
    error OutcomeLengthMismatch(uint256 participants, uint256 outcome);
    error OutcomeTotalChanged(uint256 before, uint256 after_);
    error TurnNotNext(uint48 from, uint48 to);
    error FinalStateCannotChange(uint48 turnNum);
    /// @dev A final state ends a game by everyone's consent (`conclude`), never by one mover.
    error FinalStateNeedsAllSignatures(uint48 turnNum);
    error SetupStateChanged(uint48 turnNum);
    error InvalidTransition(address app);
    error InvalidProofLength(uint256 length, uint256 participants);
    error InvalidSignatureCount(uint256 count, uint256 expected);
    error NotMover(uint48 turnNum, address expected, address signer);
    error NotSignedByAll(uint256 index, address expected, address signer);
    error NotFinal(uint48 turnNum);
    error ChallengerNotParticipant(address signer);
    error FingerprintMismatch(bytes32 channelId);
    error NothingToClaim();
    error NotALedger(uint256 participants);
    error WrongTarget(bytes32 guaranteed, bytes32 given);
    error GuaranteeAlreadyClaimed(bytes32 ledgerId, uint256 index);
    error InvalidGuarantee(uint256 index);
    error EthTransferFailed(address to);
    error TokenTransferFailed(address token);
    error TokenHasNoCode(address token);
    error TokenBalanceUnreadable(address token);
    error DepositNotReceived(address token, uint256 amount);
    error TokenPullReentered(address token);

    constructor() {
        cachedChainId = block.chainid;
        cachedDomainSeparator = EIP712.domainSeparator(NAME, VERSION);
    }

    // ---------------------------------------------------------------- funding

    /// @notice Add `amount` of `asset` to a channel's holdings.
    /// @dev `expectedHeld` must equal the holdings now: participants deposit in an agreed order,
    ///      and a deposit that arrives after a rival one (and would overfund the channel on someone
    ///      else's behalf) is refused instead. A token deposit credits what actually arrived.
    function deposit(address asset, bytes32 channelId, uint256 expectedHeld, uint256 amount) external payable {
        if (amount == 0) revert ZeroAmount();
        uint256 held = holdings[asset][channelId];
        if (held != expectedHeld) revert HeldMismatch(expectedHeld, held);
        if (_isFinalized(records[channelId])) revert ChannelFinalized(channelId);
        uint256 expectedValue = asset == address(0) ? amount : 0;
        if (msg.value != expectedValue) revert WrongEthValue(msg.value, expectedValue);
        uint256 credited = amount;
        if (asset != address(0)) {
            credited = _pullToken(asset, amount);
            // The token's code ran in between: it may have concluded the channel (a credit after its
            // payout would be stranded) or deposited too (read the holdings again).
            if (_isFinalized(records[channelId])) revert ChannelFinalized(channelId);
        }
        held = holdings[asset][channelId] + credited;
        holdings[asset][channelId] = held;
        emit Deposited(channelId, asset, credited, held);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Start (or restart with a newer state) a challenge: unless someone answers within the
    ///         channel's challenge duration, the outcome of `proof`'s last state becomes final.
    /// @param proof A supported state (see the contract's notes), its last state the challenged one.
    /// @param challengerSig A participant's signature on `Challenge(channelId, stateHash)`, so that a
    ///        stranger holding old states cannot start challenges in a participant's name.
    function challenge(FixedPart calldata fp, SignedVariablePart[] calldata proof, Signature calldata challengerSig)
        external
    {
        bytes32 channelId = _channelId(fp);
        bytes32 stateHash = _checkChallenge(fp, channelId, proof);
        address challenger = _challenger(channelId, stateHash, challengerSig);
        if (!_isParticipant(fp, challenger)) revert ChallengerNotParticipant(challenger);
        _startChallenge(fp, channelId, proof[proof.length - 1].variablePart, stateHash);
    }

    /// @notice `challenge` a virtual channel by a participant of a ledger channel that guarantees it (a
    ///         hub): the guarantor's funds are locked until the virtual channel is final, so it may start
    ///         the clock even though it is not one of the channel's participants.
    /// @param guarantor A ledger state signed by all its participants holding a guarantee for the channel,
    ///        and the guarantee's index in it.
    function challengeAsGuarantor(FixedPart calldata fp, SignedVariablePart[] calldata proof,
        GuarantorProof calldata guarantor, Signature calldata challengerSig) external {
        bytes32 channelId = _channelId(fp);
        bytes32 stateHash = _checkChallenge(fp, channelId, proof);
        _requireGuarantee(guarantor, channelId);
        address challenger = _challenger(channelId, stateHash, challengerSig);
        if (!_isParticipant(guarantor.ledger, challenger)) revert ChallengerNotParticipant(challenger);
        _startChallenge(fp, channelId, proof[proof.length - 1].variablePart, stateHash);
    }

    /// @dev `guarantor` is a ledger state everyone signed, holding a guarantee for `channelId`.
    function _requireGuarantee(GuarantorProof calldata guarantor, bytes32 channelId) private view {
        FixedPart calldata ledger = guarantor.ledger;
        VariablePart calldata ledgerState = guarantor.ledgerState.variablePart;
        _requireSignedByAll(ledger, _stateHash(_channelId(ledger), ledgerState), guarantor.ledgerState.sigs);
        // A ledger without guarantees has empty appData (abi.decode would revert without a reason).
        if (ledgerState.appData.length == 0) revert InvalidGuarantee(guarantor.index);
        Guarantee[] memory guarantees = abi.decode(ledgerState.appData, (Guarantee[]));
        if (guarantor.index >= guarantees.length) revert InvalidGuarantee(guarantor.index);
        bytes32 target = guarantees[guarantor.index].target;
        if (target != channelId) revert WrongTarget(target, channelId);
    }

    /// @dev The channel is not final and `proof` supports a state that may be challenged; its hash.
    function _checkChallenge(FixedPart calldata fp, bytes32 channelId, SignedVariablePart[] calldata proof)
        private
        view
        returns (bytes32)
    {
        ChannelRecord memory record = records[channelId];
        if (_isFinalized(record)) revert ChannelFinalized(channelId);
        uint48 turnNum = proof[proof.length - 1].variablePart.turnNum;
        // An open channel may be challenged with the state it records (a checkpoint); a running
        // challenge only with a newer one, or a challenger could restart the clock forever.
        bool ongoing = record.finalizesAt != 0;
        if (ongoing ? turnNum <= record.turnNumRecord : turnNum < record.turnNumRecord) {
            revert TurnNumNotIncreased(record.turnNumRecord, turnNum);
        }
        return _requireSupported(fp, channelId, proof);
    }

    function _challenger(bytes32 channelId, bytes32 stateHash, Signature calldata sig) private view returns (address) {
        return Signatures.recover(
            _digest(keccak256(abi.encode(CHALLENGE_TYPEHASH, channelId, MSG_CHALLENGE, stateHash))), sig.r, sig.s, sig.v
        );
    }

    function _startChallenge(FixedPart calldata fp, bytes32 channelId, VariablePart calldata state, bytes32 stateHash)
        private
    {
        // A zero duration would finalize the challenge in the block that starts it: nobody could answer.
        if (fp.challengeDuration == 0) revert ZeroChallengeDuration();
        uint48 finalizesAt = uint48(block.timestamp) + fp.challengeDuration;
        _store(channelId, state.turnNum, finalizesAt, stateHash, state.outcome);
        emit Challenged(channelId, state.turnNum, finalizesAt, state);
    }

    /// @notice Record a newer supported state; clears a running challenge.
    function checkpoint(FixedPart calldata fp, SignedVariablePart[] calldata proof) external {
        bytes32 channelId = _channelId(fp);
        ChannelRecord memory record = records[channelId];
        if (_isFinalized(record)) revert ChannelFinalized(channelId);
        VariablePart calldata state = proof[proof.length - 1].variablePart;
        if (state.turnNum <= record.turnNumRecord) revert TurnNumNotIncreased(record.turnNumRecord, state.turnNum);
        bytes32 stateHash = _requireSupported(fp, channelId, proof);
        _store(channelId, state.turnNum, 0, stateHash, state.outcome);
        emit Checkpointed(channelId, state.turnNum);
    }

    /// @notice Answer a running challenge with the next move (a force-move): `response` is signed by
    ///         its mover and judged by the app against the challenged state.
    /// @param challenged The challenged state, as the `Challenged` event gave it (checked against the fingerprint).
    function respond(FixedPart calldata fp, VariablePart calldata challenged, SignedVariablePart calldata response)
        external
    {
        bytes32 channelId = _channelId(fp);
        ChannelRecord memory record = records[channelId];
        if (record.finalizesAt == 0) revert NoOngoingChallenge(channelId);
        if (record.finalizesAt <= block.timestamp) revert ChannelFinalized(channelId);
        if (challenged.turnNum != record.turnNumRecord) revert FingerprintMismatch(channelId);
        _requireFingerprint(record, channelId, _stateHash(channelId, challenged), challenged.outcome);
        VariablePart calldata next = response.variablePart;
        _requireValidTransition(fp, challenged, next);
        bytes32 nextHash = _stateHash(channelId, next);
        _requireMoverSigned(fp, nextHash, response);
        _store(channelId, next.turnNum, 0, nextHash, next.outcome);
        emit Responded(channelId, next.turnNum, next);
    }

    /// @notice Finalize at once with a final state everyone signed.
    function conclude(FixedPart calldata fp, SignedVariablePart calldata finalState) public {
        bytes32 channelId = _channelId(fp);
        if (_isFinalized(records[channelId])) revert ChannelFinalized(channelId);
        VariablePart calldata state = finalState.variablePart;
        if (!state.isFinal) revert NotFinal(state.turnNum);
        _requireOutcomeLength(fp, state.outcome);
        bytes32 stateHash = _stateHash(channelId, state);
        _requireSignedByAll(fp, stateHash, finalState.sigs);
        uint48 now_ = uint48(block.timestamp);
        _store(channelId, 0, now_, stateHash, state.outcome);
        emit Concluded(channelId, now_, stateHash, state.outcome);
    }

    /// @notice `conclude`, then `transfer`: a cooperative exit in one transaction.
    function concludeAndTransfer(FixedPart calldata fp, SignedVariablePart calldata finalState) external {
        conclude(fp, finalState);
        bytes32 channelId = _channelId(fp);
        _payOut(fp, channelId, records[channelId], _stateHash(channelId, finalState.variablePart),
            finalState.variablePart.outcome);
    }

    // ---------------------------------------------------------------- payout

    /// @notice Pay a finalized channel's outcome from its holdings, in participant order (a channel
    ///         holding less than its outcome pays the first participants first). The fingerprint
    ///         then records what is still owed, so paying twice pays nothing more.
    /// @param stateHash The finalized state's hash (from the record's event or the caller's store).
    /// @param outcome What is still owed (the finalized outcome, or the remainder after a partial payout).
    function transfer(FixedPart calldata fp, bytes32 stateHash, uint256[] calldata outcome) external {
        bytes32 channelId = _channelId(fp);
        _payOut(fp, channelId, records[channelId], stateHash, outcome);
    }

    /// @notice Pay a guarantee of a final ledger channel by the final outcome of its target (a virtual
    ///         channel, which holds nothing itself). Each guarantee pays once.
    /// @dev The target's outcome total must be the guaranteed amount: a target state with another total
    ///      (its participants, say, signing a state that pays both everything) was never what the
    ///      guarantee funds, so the funder gets the whole amount back and the other ledger participant
    ///      (the hub) cannot be made to pay twice. Call after `transfer` paid the ledger's own outcome:
    ///      the guarantee is paid from what the ledger still holds.
    /// @param ledger The ledger, its final state (whose appData holds the guarantees) and what its record
    ///        still owes its participants (after any `transfer`).
    /// @param target The virtual channel, its final state's hash and outcome, as its record has them.
    function claimGuarantee(FinalChannel calldata ledger, uint256 index, FinalTarget calldata target) external {
        (bytes32 ledgerId, Guarantee memory g) = _finalGuarantee(ledger.fixedPart, ledger.state, ledger.owed, index);
        bytes32 targetId = _channelId(target.fixedPart);
        if (targetId != g.target) revert WrongTarget(g.target, targetId);
        ChannelRecord memory targetRecord = records[targetId];
        if (!_isFinalized(targetRecord)) revert ChannelNotFinalized(targetId, targetRecord.finalizesAt);
        _requireFingerprint(targetRecord, targetId, target.stateHash, target.outcome);
        if (guaranteeClaimed[ledgerId][index]) revert GuaranteeAlreadyClaimed(ledgerId, index);
        guaranteeClaimed[ledgerId][index] = true;
        (uint256 toBeneficiary, uint256 toOther) = _split(g, target.outcome);
        _payGuarantee(ledger.fixedPart, ledgerId, targetId, g.beneficiary, toBeneficiary, toOther);
    }

    function _payGuarantee(FixedPart calldata ledger, bytes32 ledgerId, bytes32 targetId, uint8 beneficiary,
        uint256 toBeneficiary, uint256 toOther) private {
        // Never more than the ledger holds, the beneficiary first (as `transfer` pays in order).
        uint256 held = holdings[ledger.asset][ledgerId];
        if (toBeneficiary > held) toBeneficiary = held;
        if (toOther > held - toBeneficiary) toOther = held - toBeneficiary;
        holdings[ledger.asset][ledgerId] = held - toBeneficiary - toOther;
        emit GuaranteeClaimed(ledgerId, targetId, toBeneficiary, toOther);
        _push(ledger.asset, ledger.participants[beneficiary], toBeneficiary);
        _push(ledger.asset, ledger.participants[1 - beneficiary], toOther);
    }

    /// @dev The ledger is final, `ledgerState` is its recorded state, and its guarantee `index` is well-formed.
    function _finalGuarantee(FixedPart calldata ledger, VariablePart calldata ledgerState,
        uint256[] calldata ledgerOwed, uint256 index) private view returns (bytes32 ledgerId, Guarantee memory g) {
        if (ledger.participants.length != 2) revert NotALedger(ledger.participants.length);
        ledgerId = _channelId(ledger);
        ChannelRecord memory record = records[ledgerId];
        if (!_isFinalized(record)) revert ChannelNotFinalized(ledgerId, record.finalizesAt);
        _requireFingerprint(record, ledgerId, _stateHash(ledgerId, ledgerState), ledgerOwed);
        if (ledgerState.appData.length == 0) revert InvalidGuarantee(index);
        Guarantee[] memory guarantees = abi.decode(ledgerState.appData, (Guarantee[]));
        if (index >= guarantees.length) revert InvalidGuarantee(index);
        g = guarantees[index];
        if (g.beneficiary > 1 || g.funder > 1) revert InvalidGuarantee(index);
    }

    /// @dev (to the beneficiary, to the other ledger participant). Python twin: `rules.guarantee_split`.
    function _split(Guarantee memory g, uint256[] calldata targetOutcome) private pure returns (uint256, uint256) {
        uint256 total;
        for (uint256 i; i < targetOutcome.length; ++i) {
            total += targetOutcome[i];
        }
        uint256 toBeneficiary;
        if (total == g.amount && g.targetIndex < targetOutcome.length) {
            toBeneficiary = targetOutcome[g.targetIndex]; // at most the total, so at most the amount
        } else {
            toBeneficiary = g.funder == g.beneficiary ? g.amount : 0; // the funder gets it all back
        }
        return (toBeneficiary, g.amount - toBeneficiary);
    }

    /// @notice Collect payouts that could not be pushed (the receiver reverted or ran out of gas).
    function claim(address asset) external {
        uint256 amount = pending[asset][msg.sender];
        if (amount == 0) revert NothingToClaim();
        pending[asset][msg.sender] = 0;
        emit PendingClaimed(asset, msg.sender, amount);
        if (asset == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert EthTransferFailed(msg.sender);
        } else if (!TokenTransfer.tryTransfer(asset, msg.sender, amount)) {
            revert TokenTransferFailed(asset);
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice The channel's one slot: (turnNumRecord, finalizesAt, fingerprint).
    function channelRecord(bytes32 channelId) external view returns (ChannelRecord memory) {
        return records[channelId];
    }

    function channelIdOf(FixedPart calldata fp) external pure returns (bytes32) {
        return _channelId(fp);
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparator();
    }

    /// @notice The EIP-712 struct hash of a state of `channelId` (what the fingerprint records).
    function stateHashOf(bytes32 channelId, VariablePart calldata state) external pure returns (bytes32) {
        return _stateHash(channelId, state);
    }

    /// @notice Every rule a move must keep, the adjudicator's and the app's: true or a revert naming the rule.
    function validTransition(FixedPart calldata fp, VariablePart calldata from, VariablePart calldata to)
        external
        pure
        returns (bool)
    {
        _requireValidTransition(fp, from, to);
        return true;
    }

    // ---------------------------------------------------------------- internal

    function _channelId(FixedPart calldata fp) private pure returns (bytes32) {
        if (fp.participants.length == 0) revert NoParticipants();
        return keccak256(abi.encode(fp));
    }

    function _isFinalized(ChannelRecord memory record) private view returns (bool) {
        return record.finalizesAt != 0 && record.finalizesAt <= block.timestamp;
    }

    function _isParticipant(FixedPart calldata fp, address account) private pure returns (bool) {
        for (uint256 i; i < fp.participants.length; ++i) {
            if (fp.participants[i] == account) return true;
        }
        return false;
    }

    function _fingerprint(uint48 turnNum, uint48 finalizesAt, bytes32 stateHash, bytes32 outcomeHash)
        private
        pure
        returns (uint160)
    {
        return uint160(uint256(keccak256(abi.encode(turnNum, finalizesAt, stateHash, outcomeHash))));
    }

    function _store(bytes32 channelId, uint48 turnNum, uint48 finalizesAt, bytes32 stateHash,
        uint256[] calldata outcome) private {
        records[channelId] = ChannelRecord(
            turnNum, finalizesAt, _fingerprint(turnNum, finalizesAt, stateHash, keccak256(abi.encodePacked(outcome)))
        );
    }

    function _requireFingerprint(ChannelRecord memory record, bytes32 channelId, bytes32 stateHash,
        uint256[] memory outcome) private pure {
        uint160 expected = _fingerprint(record.turnNumRecord, record.finalizesAt, stateHash,
            keccak256(abi.encodePacked(outcome)));
        if (expected != record.fingerprint) revert FingerprintMismatch(channelId);
    }

    function _payOut(FixedPart calldata fp, bytes32 channelId, ChannelRecord memory record, bytes32 stateHash,
        uint256[] calldata owed) private {
        if (!_isFinalized(record)) revert ChannelNotFinalized(channelId, record.finalizesAt);
        _requireFingerprint(record, channelId, stateHash, owed);
        address asset = fp.asset;
        uint256 held = holdings[asset][channelId];
        uint256 n = owed.length;
        uint256[] memory paid = new uint256[](n);
        uint256[] memory remaining = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 amount = owed[i] < held ? owed[i] : held;
            held -= amount;
            paid[i] = amount;
            remaining[i] = owed[i] - amount;
        }
        // Effects before interactions: the record owes only the remainder before anything is sent.
        holdings[asset][channelId] = held;
        records[channelId].fingerprint = _fingerprint(record.turnNumRecord, record.finalizesAt, stateHash,
            keccak256(abi.encodePacked(remaining)));
        emit Paid(channelId, paid, held);
        for (uint256 i; i < n; ++i) {
            _push(asset, fp.participants[i], paid[i]);
        }
    }

    function _push(address asset, address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        if (asset == address(0)) {
            (ok,) = to.call{value: amount, gas: PAYOUT_GAS}("");
        } else {
            ok = TokenTransfer.tryTransfer(asset, to, amount);
        }
        if (!ok) {
            pending[asset][to] += amount;
            emit PayoutDeferred(asset, to, amount);
        }
    }

    function _pullToken(address token, uint256 amount) private returns (uint256) {
        if (token.code.length == 0) revert TokenHasNoCode(token);
        if (pulling) revert TokenPullReentered(token);
        pulling = true;
        uint256 before = _tokenBalance(token);
        if (!TokenTransfer.tryTransferFrom(token, msg.sender, address(this), amount)) revert TokenTransferFailed(token);
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

    // ---------------------------------------------------------------- states and signatures

    function _stateHash(bytes32 channelId, VariablePart calldata state) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                STATE_TYPEHASH,
                channelId,
                MSG_STATE,
                keccak256(abi.encodePacked(state.outcome)),
                keccak256(state.appData),
                state.turnNum,
                state.isFinal
            )
        );
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return EIP712.digest(_domainSeparator(), structHash);
    }

    function _domainSeparator() private view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedDomainSeparator : EIP712.domainSeparator(NAME, VERSION);
    }

    function _recover(bytes32 stateHash, Signature calldata sig) private view returns (address) {
        return Signatures.recover(_digest(stateHash), sig.r, sig.s, sig.v);
    }

    /// @dev Checks a supported state and returns its hash (see the contract's notes).
    function _requireSupported(FixedPart calldata fp, bytes32 channelId, SignedVariablePart[] calldata proof)
        private
        view
        returns (bytes32 stateHash)
    {
        uint256 n = fp.participants.length;
        if (proof.length == 1) {
            VariablePart calldata only = proof[0].variablePart;
            _requireOutcomeLength(fp, only.outcome);
            stateHash = _stateHash(channelId, only);
            _requireSignedByAll(fp, stateHash, proof[0].sigs);
            return stateHash;
        }
        if (proof.length != n) revert InvalidProofLength(proof.length, n);
        _requireOutcomeLength(fp, proof[0].variablePart.outcome);
        for (uint256 i; i < n; ++i) {
            if (i > 0) _requireValidTransition(fp, proof[i - 1].variablePart, proof[i].variablePart);
            stateHash = _stateHash(channelId, proof[i].variablePart);
            _requireMoverSigned(fp, stateHash, proof[i]);
        }
    }

    function _requireMoverSigned(FixedPart calldata fp, bytes32 stateHash, SignedVariablePart calldata signed)
        private
        view
    {
        if (signed.sigs.length != 1) revert InvalidSignatureCount(signed.sigs.length, 1);
        uint48 turnNum = signed.variablePart.turnNum;
        address mover = fp.participants[turnNum % fp.participants.length];
        address signer = _recover(stateHash, signed.sigs[0]);
        if (signer != mover) revert NotMover(turnNum, mover, signer);
    }

    function _requireSignedByAll(FixedPart calldata fp, bytes32 stateHash, Signature[] calldata sigs) private view {
        uint256 n = fp.participants.length;
        if (sigs.length != n) revert InvalidSignatureCount(sigs.length, n);
        for (uint256 i; i < n; ++i) {
            address signer = _recover(stateHash, sigs[i]);
            if (signer != fp.participants[i]) revert NotSignedByAll(i, fp.participants[i], signer);
        }
    }

    function _requireOutcomeLength(FixedPart calldata fp, uint256[] calldata outcome) private pure {
        if (outcome.length != fp.participants.length) {
            revert OutcomeLengthMismatch(fp.participants.length, outcome.length);
        }
    }

    /// @dev The rules every app shares, then the app's own for moves after setup.
    function _requireValidTransition(FixedPart calldata fp, VariablePart calldata from, VariablePart calldata to)
        private
        pure
    {
        uint256 n = fp.participants.length;
        if (to.turnNum != from.turnNum + 1) revert TurnNotNext(from.turnNum, to.turnNum);
        if (from.isFinal) revert FinalStateCannotChange(from.turnNum);
        if (to.isFinal) revert FinalStateNeedsAllSignatures(to.turnNum);
        _requireOutcomeLength(fp, from.outcome);
        _requireOutcomeLength(fp, to.outcome);
        uint256 before;
        uint256 after_;
        for (uint256 i; i < n; ++i) {
            before += from.outcome[i];
            after_ += to.outcome[i];
        }
        if (before != after_) revert OutcomeTotalChanged(before, after_);
        if (to.turnNum < n) {
            // Setup: everyone signs the opening state in turn; nobody may slip in another outcome
            // or other app data before the channel is funded and the app's rules take over.
            if (keccak256(abi.encodePacked(from.outcome)) != keccak256(abi.encodePacked(to.outcome))
                || keccak256(from.appData) != keccak256(to.appData)) revert SetupStateChanged(to.turnNum);
            return;
        }
        if (!IForceMoveApp(fp.appDefinition).validTransition(fp, from, to, to.turnNum % n)) {
            revert InvalidTransition(fp.appDefinition);
        }
    }
}
