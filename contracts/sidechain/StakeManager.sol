// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "../lib/EIP712.sol";
import {Signatures} from "../lib/Signatures.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";

/// @title StakeManager
/// @notice The sidechain's validator set on Layer 1, its checkpoints, and the slashing of its validators
///         (Polygon PoS's StakeManager, RootChain and SlashingManager in one contract: a checkpoint is
///         judged against the stakes, and slashing changes the stakes, so keeping them together spares a
///         cross-contract call per signature and a trust edge between contracts).
///
///         Epochs are counted in checkpoints: `epoch` is the number of checkpoints accepted so far, and
///         checkpoint number `epoch` is signed by the set of epoch `epoch`. A stake or an unstake made in
///         epoch e counts from epoch e + 1 (so the set that is gathering signatures for a checkpoint never
///         changes under it); before the first checkpoint every change counts at once (the genesis set).
///         Slashing is the exception: a slashed validator leaves at once.
///
///         Validators learn the set from `ValidatorSetChanged` (numbered by `changeId` so a gap shows a
///         missed event, with the epoch from which the change counts), and apply an event only once its
///         Layer-1 block has `confirmations` confirmations, so a Layer-1 reorg cannot change a set they
///         have already used.
///
///         Two kinds of signed messages are judged here, each under its own EIP-712 domain:
///         - `Checkpoint` (domain: this contract on Layer 1, `block.chainid`): a validator's yes to the
///           block and exit roots of sidechain blocks start..end. The struct names the sidechain's chain
///           id, so a checkpoint signature names both chains.
///         - `Vote` (domain: this contract with the *sidechain's* chain id): the consensus votes of
///           `l2/designs/sidechain/messages.py`, taken as they are, so evidence a validator collected can
///           be submitted unchanged.
/// @dev Python twin of the digests and roots: `l2/designs/sidechain/bridge.py`.
contract StakeManager {
    // ----------------------------------------------------------------- types

    enum Status {
        None,
        Bonded,
        Unbonding,
        Withdrawn,
        Slashed
    }

    /// @dev One slot: all a checkpoint reads per signature. `deactivationEpoch` is NEVER while bonded.
    struct Validator {
        uint96 stake;
        uint32 activationEpoch;
        uint32 deactivationEpoch;
        Status status;
    }

    /// @notice The consensus vote of messages.py (EIP-712 `Vote`), as evidence of equivocation.
    struct Vote {
        uint256 height;
        uint256 round;
        uint8 voteType; // 1 prevote, 2 precommit
        bytes32 blockHash; // zero: a vote for no block
    }

    /// @notice What validators sign about sidechain blocks start..end (EIP-712 `Checkpoint`, with
    ///         `sidechainId` and `vote` = YES added when hashing).
    struct CheckpointData {
        uint256 start;
        uint256 end;
        bytes32 blockRoot; // Merkle root of the block hashes of start..end, in order
        bytes32 exitRoot; // Merkle root of the burns in start..end (zero when there are none)
    }

    /// @dev Slot of what every checkpoint reads and writes.
    struct Head {
        uint32 epoch; // checkpoints accepted so far
        uint64 lastEnd; // last sidechain block covered by a checkpoint (0 before the first)
        uint96 totalStake; // stake counting in `epoch`
    }

    /// @dev Changes waiting for the next epoch; written only when a stake or an unstake happens.
    struct Pending {
        uint96 stakeIn;
        uint96 stakeOut;
        uint32 validatorCount; // validators bonded and not leaving: what `maxValidators` caps
    }

    // ------------------------------------------------------ typed data (EIP-712)

    string public constant NAME = "l2 sidechain";
    string public constant VERSION = "1";
    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint256 sidechainId,uint256 start,uint256 end,bytes32 blockRoot,bytes32 exitRoot,uint8 vote)"
    );
    bytes32 public constant VOTE_TYPEHASH =
        keccak256("Vote(uint256 height,uint256 round,uint8 voteType,bytes32 blockHash)");
    /// @notice The only checkpoint vote that counts; a future "no" (any other value) never adds to a quorum.
    uint8 public constant YES = 1;
    uint8 public constant PREVOTE = 1;
    uint8 public constant PRECOMMIT = 2;

    uint32 private constant NEVER = type(uint32).max;
    uint256 private constant BPS = 10_000;

    // ------------------------------------------------------------------ state

    /// @notice The sidechain's chain id (never Layer 1's: its transactions would replay on Layer 1).
    uint256 public immutable sidechainId;
    /// @notice The asset staked: address(0) for ETH, else an ERC-20 chosen at deployment.
    address public immutable stakeToken;
    uint256 public immutable minStake;
    /// @notice Most validators bonded at once (a checkpoint's cost grows with the signers).
    uint256 public immutable maxValidators;
    /// @notice Checkpoints between the epoch an unstake takes effect and the stake's withdrawal: the time
    ///         in which evidence against the validator can still be submitted.
    uint256 public immutable unbondingDelay;
    /// @notice Layer-1 confirmations a validator waits for before applying a `ValidatorSetChanged`.
    uint256 public immutable confirmations;
    /// @notice Share of a slashed stake paid to whoever proved the fault (basis points); the rest is burned.
    uint256 public immutable reporterShareBps;

    bytes32 public immutable voteDomainSeparator;
    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedCheckpointDomain;

    Head public head;
    Pending public pending;
    /// @notice Validators by signer key; a key is never reused, so old signatures stay attributable.
    mapping(address signer => Validator) public validators;
    mapping(address signer => address) public ownerOf;
    /// @notice keccak256(abi.encode(start, end, blockRoot, exitRoot)) of checkpoint `number`.
    mapping(uint256 number => bytes32) public checkpointHashes;
    /// @notice Number of the last `ValidatorSetChanged`.
    uint256 public setChangeCount;
    /// @notice Stake held for validators bonded or unbonding.
    uint256 public bonded;
    /// @notice Slashed stake not paid to reporters: held here forever.
    uint256 public burned;

    /// @dev Set while a token stake is pulled: the credit is the balance after minus before, so a stake
    ///      re-entered from the token meanwhile would be counted in both (transient: EIP-1153).
    bool private transient pulling;

    // ----------------------------------------------------------------- events

    event Staked(address indexed signer, address indexed owner, uint256 amount, uint256 activationEpoch);
    event UnstakeStarted(address indexed signer, uint256 deactivationEpoch, uint256 withdrawableEpoch);
    event StakeWithdrawn(address indexed signer, address indexed owner, uint256 amount);
    /// @notice What validators read to learn the set: from `effectiveEpoch` on, `signer` has `power`
    ///         (0: out of the set).
    event ValidatorSetChanged(uint256 indexed changeId, address indexed signer, uint256 power, uint256 effectiveEpoch);
    event CheckpointSubmitted(
        uint256 indexed number,
        uint256 start,
        uint256 end,
        bytes32 blockRoot,
        bytes32 exitRoot,
        address indexed submitter,
        uint256 signedStake
    );
    event Slashed(address indexed signer, address indexed reporter, uint256 amount, uint256 reward, bytes32 evidence);

    // ----------------------------------------------------------------- errors

    error SidechainIdIsLayer1(uint256 chainId);
    error InvalidParameter(string name);
    error SignerTaken(address signer);
    error ZeroSigner();
    error StakeTooLow(uint256 amount, uint256 minimum);
    error StakeTooHigh(uint256 amount);
    error ValidatorSetFull(uint256 maximum);
    error WrongValue(uint256 sent, uint256 expected);
    error TokenTransferFailed(address token);
    error StakePullReentered();
    error NotOwner(address signer, address caller);
    error NotBonded(address signer);
    error StillUnbonding(uint256 epoch, uint256 withdrawableEpoch);
    error PaymentFailed(address to, uint256 amount);
    error CheckpointOutOfOrder(uint256 start, uint256 expectedStart);
    error InvalidRange(uint256 start, uint256 end);
    error SignaturesLength(uint256 length);
    error UnknownSigner(address signer);
    error InactiveSigner(address signer, uint256 epoch);
    error DuplicateSigner(address signer);
    error SignersNotSorted(address previous, address next);
    error NoQuorum(uint256 signedStake, uint256 totalStake);
    error EvidenceNotSameSlot();
    error EvidenceNotConflicting();
    error InvalidVoteType(uint8 voteType);
    error SignersDiffer(address first, address second);
    error AlreadySlashed(address signer);
    error NothingToSlash(address signer);

    // ------------------------------------------------------------ construction

    /// @param sidechainId_ The sidechain's chain id (its votes' EIP-712 domain).
    /// @param stakeToken_ address(0) to stake ETH, else the ERC-20 staked.
    /// @param minStake_ Smallest stake accepted.
    /// @param maxValidators_ Cap on validators bonded at once (1..256).
    /// @param unbondingDelay_ Checkpoints between an unstake's effect and the withdrawal.
    /// @param confirmations_ Layer-1 confirmations validators wait before applying a set change.
    /// @param reporterShareBps_ Share of a slashed stake paid to the reporter, in basis points.
    constructor(
        uint256 sidechainId_,
        address stakeToken_,
        uint256 minStake_,
        uint256 maxValidators_,
        uint256 unbondingDelay_,
        uint256 confirmations_,
        uint256 reporterShareBps_
    ) {
        if (sidechainId_ == block.chainid) revert SidechainIdIsLayer1(sidechainId_);
        if (sidechainId_ == 0) revert InvalidParameter("sidechainId");
        if (stakeToken_ != address(0) && stakeToken_.code.length == 0) revert InvalidParameter("stakeToken");
        if (minStake_ == 0 || minStake_ > type(uint96).max) revert InvalidParameter("minStake");
        if (maxValidators_ == 0 || maxValidators_ > 256) revert InvalidParameter("maxValidators");
        if (reporterShareBps_ > BPS) revert InvalidParameter("reporterShareBps");
        sidechainId = sidechainId_;
        stakeToken = stakeToken_;
        minStake = minStake_;
        maxValidators = maxValidators_;
        unbondingDelay = unbondingDelay_;
        confirmations = confirmations_;
        reporterShareBps = reporterShareBps_;
        voteDomainSeparator = keccak256(
            abi.encode(
                EIP712.DOMAIN_TYPEHASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), sidechainId_, address(this)
            )
        );
        cachedChainId = block.chainid;
        cachedCheckpointDomain = EIP712.domainSeparator(NAME, VERSION);
    }

    // ------------------------------------------------------------------ staking

    /// @notice Bond `amount` (ETH sent along, or the stake token pulled with transferFrom) for a new
    ///         validator whose consensus key is `signer`; the caller owns it (unstakes and withdraws).
    /// @dev A token stake is credited with what arrived (balance after minus before).
    function stake(address signer, uint256 amount) external payable {
        if (signer == address(0)) revert ZeroSigner();
        if (validators[signer].status != Status.None) revert SignerTaken(signer);
        Pending memory p = pending;
        if (p.validatorCount >= maxValidators) revert ValidatorSetFull(maxValidators);
        uint256 credited;
        if (stakeToken == address(0)) {
            if (msg.value != amount) revert WrongValue(msg.value, amount);
            credited = amount;
        } else {
            if (msg.value != 0) revert WrongValue(msg.value, 0);
            credited = _pullStake(amount);
        }
        if (credited < minStake) revert StakeTooLow(credited, minStake);
        if (credited + bonded > type(uint96).max) revert StakeTooHigh(credited);

        Head memory h = head;
        uint32 from = _changeEpoch(h.epoch);
        validators[signer] = Validator(uint96(credited), from, NEVER, Status.Bonded);
        ownerOf[signer] = msg.sender;
        bonded += credited;
        p.validatorCount += 1;
        if (from == h.epoch) {
            head.totalStake = h.totalStake + uint96(credited);
        } else {
            p.stakeIn += uint96(credited);
        }
        pending = p;
        emit Staked(signer, msg.sender, credited, from);
        emit ValidatorSetChanged(++setChangeCount, signer, credited, from);
    }

    /// @notice Start unbonding: the validator leaves the set from the next epoch, and its stake can be
    ///         withdrawn `unbondingDelay` checkpoints after that (slashable until then).
    function unstake(address signer) external {
        Validator memory v = validators[signer];
        if (ownerOf[signer] != msg.sender) revert NotOwner(signer, msg.sender);
        if (v.status != Status.Bonded) revert NotBonded(signer);
        Head memory h = head;
        Pending memory p = pending;
        uint32 until = _changeEpoch(h.epoch);
        if (v.activationEpoch > h.epoch) {
            p.stakeIn -= v.stake; // joined this epoch: it never counts
            until = v.activationEpoch;
        } else if (until == h.epoch) {
            head.totalStake = h.totalStake - v.stake;
        } else {
            p.stakeOut += v.stake;
        }
        p.validatorCount -= 1;
        pending = p;
        validators[signer] = Validator(v.stake, v.activationEpoch, until, Status.Unbonding);
        emit UnstakeStarted(signer, until, until + unbondingDelay);
        emit ValidatorSetChanged(++setChangeCount, signer, 0, until);
    }

    /// @notice Pay an unbonded stake to its owner, `unbondingDelay` checkpoints after it left the set.
    function withdrawStake(address signer) external {
        Validator memory v = validators[signer];
        address owner = ownerOf[signer];
        if (owner != msg.sender) revert NotOwner(signer, msg.sender);
        if (v.status != Status.Unbonding) revert NotBonded(signer);
        uint256 withdrawable = uint256(v.deactivationEpoch) + unbondingDelay;
        if (head.epoch < withdrawable) revert StillUnbonding(head.epoch, withdrawable);
        validators[signer].status = Status.Withdrawn;
        bonded -= v.stake;
        emit StakeWithdrawn(signer, owner, v.stake);
        _pay(owner, v.stake);
    }

    // --------------------------------------------------------------- checkpoints

    /// @notice Accept the checkpoint of sidechain blocks `start`..`end`, signed by more than 2/3 of the
    ///         stake of the current epoch. Anyone may submit it.
    /// @param signatures 65-byte `r || s || v` signatures over `checkpointDigest`, concatenated, sorted by
    ///        signer address (strictly increasing, so no signer counts twice).
    function submitCheckpoint(
        uint256 start,
        uint256 end,
        bytes32 blockRoot,
        bytes32 exitRoot,
        bytes calldata signatures
    ) external {
        Head memory h = head;
        if (start != uint256(h.lastEnd) + 1) revert CheckpointOutOfOrder(start, uint256(h.lastEnd) + 1);
        if (end < start || end > type(uint64).max) revert InvalidRange(start, end);
        if (signatures.length % 65 != 0) revert SignaturesLength(signatures.length);
        bytes32 digest = checkpointDigest(CheckpointData(start, end, blockRoot, exitRoot));
        uint256 signedStake;
        address previous;
        for (uint256 at; at < signatures.length; at += 65) {
            address signer = Signatures.recover(
                digest, bytes32(signatures[at:at + 32]), bytes32(signatures[at + 32:at + 64]), uint8(signatures[at + 64])
            );
            if (signer <= previous) {
                if (signer == previous) revert DuplicateSigner(signer);
                revert SignersNotSorted(previous, signer);
            }
            previous = signer;
            Validator memory v = validators[signer];
            if (v.status == Status.None) revert UnknownSigner(signer);
            if (!_counts(v, h.epoch)) revert InactiveSigner(signer, h.epoch);
            signedStake += v.stake;
        }
        // More than 2/3, as Tendermint: two such quorums share more than 1/3, so an honest third cannot
        // be outvoted twice.
        if (signedStake * 3 <= uint256(h.totalStake) * 2) revert NoQuorum(signedStake, h.totalStake);

        uint256 number = h.epoch;
        checkpointHashes[number] = keccak256(abi.encode(start, end, blockRoot, exitRoot));
        Pending memory p = pending;
        uint96 total = h.totalStake;
        if (p.stakeIn != 0 || p.stakeOut != 0) {
            total = total + p.stakeIn - p.stakeOut;
            pending = Pending(0, 0, p.validatorCount);
        }
        head = Head(h.epoch + 1, uint64(end), total);
        emit CheckpointSubmitted(number, start, end, blockRoot, exitRoot, msg.sender, signedStake);
    }

    /// @notice What a validator signs to say yes to a checkpoint.
    function checkpointDigest(CheckpointData memory c) public view returns (bytes32) {
        return EIP712.digest(
            _checkpointDomain(),
            keccak256(abi.encode(CHECKPOINT_TYPEHASH, sidechainId, c.start, c.end, c.blockRoot, c.exitRoot, YES))
        );
    }

    /// @notice What a validator signs when it votes in the sidechain's consensus (messages.py's digest).
    function voteDigest(Vote memory vote) public view returns (bytes32) {
        return EIP712.digest(
            voteDomainSeparator,
            keccak256(abi.encode(VOTE_TYPEHASH, vote.height, vote.round, vote.voteType, vote.blockHash))
        );
    }

    /// @notice What the exit bridge needs about checkpoint `number`: its header hash (zero if it does not
    ///         exist), how many checkpoints exist, and the last sidechain block they cover.
    function checkpointForExit(uint256 number)
        external
        view
        returns (bytes32 headerHash, uint256 count, uint256 lastEnd)
    {
        Head memory h = head;
        return (checkpointHashes[number], h.epoch, h.lastEnd);
    }

    /// @notice The current epoch (= checkpoints accepted so far).
    function epoch() external view returns (uint256) {
        return head.epoch;
    }

    /// @notice Whether `signer`'s signature counts in the current epoch, and its stake.
    function votingPower(address signer) external view returns (uint256) {
        Validator memory v = validators[signer];
        return _counts(v, head.epoch) ? v.stake : 0;
    }

    // ------------------------------------------------------------------ slashing

    /// @notice Slash the validator that signed two different votes of the same type for the same
    ///         sidechain height and round (what `consensus.Equivocation` records). Anyone may report.
    function slashDoubleVote(Vote calldata a, bytes calldata sigA, Vote calldata b, bytes calldata sigB) external {
        if (a.height != b.height || a.round != b.round || a.voteType != b.voteType) revert EvidenceNotSameSlot();
        if (a.voteType != PREVOTE && a.voteType != PRECOMMIT) revert InvalidVoteType(a.voteType);
        if (a.blockHash == b.blockHash) revert EvidenceNotConflicting();
        bytes32 digestA = voteDigest(a);
        bytes32 digestB = voteDigest(b);
        _slash(_sameSigner(digestA, sigA, digestB, sigB), _evidenceId(digestA, digestB));
    }

    /// @notice Slash the validator that said yes to two different checkpoints of the same blocks
    ///         start..end. Sidechain blocks are final, so their roots are fixed: an honest validator signs
    ///         one. (Two checkpoints from one start with different ends are honest retries, not a fault.)
    function slashDoubleCheckpoint(
        CheckpointData calldata a,
        bytes calldata sigA,
        CheckpointData calldata b,
        bytes calldata sigB
    ) external {
        if (a.start != b.start || a.end != b.end) revert EvidenceNotSameSlot();
        if (a.blockRoot == b.blockRoot && a.exitRoot == b.exitRoot) revert EvidenceNotConflicting();
        bytes32 digestA = checkpointDigest(a);
        bytes32 digestB = checkpointDigest(b);
        _slash(_sameSigner(digestA, sigA, digestB, sigB), _evidenceId(digestA, digestB));
    }

    // ------------------------------------------------------------------ internals

    /// @dev Stake changes count from the next epoch, except before the first checkpoint (genesis set).
    function _changeEpoch(uint32 current) private pure returns (uint32) {
        return current == 0 ? 0 : current + 1;
    }

    function _counts(Validator memory v, uint32 at) private pure returns (bool) {
        return (v.status == Status.Bonded || v.status == Status.Unbonding) && v.activationEpoch <= at
            && at < v.deactivationEpoch;
    }

    function _sameSigner(bytes32 digestA, bytes calldata sigA, bytes32 digestB, bytes calldata sigB)
        private
        pure
        returns (address signer)
    {
        signer = Signatures.recover(digestA, sigA);
        address other = Signatures.recover(digestB, sigB);
        if (signer != other) revert SignersDiffer(signer, other);
    }

    /// @dev The same pair in either order is the same evidence.
    function _evidenceId(bytes32 x, bytes32 y) private pure returns (bytes32) {
        return x < y ? keccak256(abi.encode(x, y)) : keccak256(abi.encode(y, x));
    }

    /// @dev The whole stake: `reporterShareBps` of it to the reporter, the rest burned (kept here for good).
    ///      The validator leaves the set at once, from every total that counts it now or would next epoch.
    function _slash(address signer, bytes32 evidence) private {
        Validator memory v = validators[signer];
        if (v.status == Status.None) revert UnknownSigner(signer);
        if (v.status == Status.Slashed) revert AlreadySlashed(signer);
        if (v.status == Status.Withdrawn) revert NothingToSlash(signer);
        Head memory h = head;
        Pending memory p = pending;
        bool countsNow = _counts(v, h.epoch);
        bool countsNext = _counts(v, h.epoch + 1);
        if (countsNow) h.totalStake -= v.stake;
        if (countsNext && !countsNow) p.stakeIn -= v.stake;
        if (countsNow && !countsNext) p.stakeOut -= v.stake;
        if (v.status == Status.Bonded) p.validatorCount -= 1;
        head = h;
        pending = p;
        validators[signer] = Validator(0, v.activationEpoch, h.epoch, Status.Slashed);
        bonded -= v.stake;
        uint256 reward = (uint256(v.stake) * reporterShareBps) / BPS;
        burned += v.stake - reward;
        if (countsNow || countsNext) emit ValidatorSetChanged(++setChangeCount, signer, 0, h.epoch);
        emit Slashed(signer, msg.sender, v.stake, reward, evidence);
        if (reward != 0) _pay(msg.sender, reward);
    }

    function _checkpointDomain() private view returns (bytes32) {
        // A fork that changes the chain id must not accept signatures made for the other branch.
        return block.chainid == cachedChainId ? cachedCheckpointDomain : EIP712.domainSeparator(NAME, VERSION);
    }

    function _pay(address to, uint256 amount) private {
        if (stakeToken == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert PaymentFailed(to, amount);
        } else if (!TokenTransfer.tryTransfer(stakeToken, to, amount)) {
            revert PaymentFailed(to, amount);
        }
    }

    function _pullStake(uint256 amount) private returns (uint256) {
        if (pulling) revert StakePullReentered();
        pulling = true;
        (bool okBefore, uint256 before) = TokenTransfer.tryBalanceOf(stakeToken, address(this));
        if (!okBefore) revert TokenTransferFailed(stakeToken);
        if (!TokenTransfer.tryTransferFrom(stakeToken, msg.sender, address(this), amount)) {
            revert TokenTransferFailed(stakeToken);
        }
        (, uint256 afterPull) = TokenTransfer.tryBalanceOf(stakeToken, address(this));
        pulling = false;
        return afterPull > before ? afterPull - before : 0;
    }
}
