"""Plain-torch transcription of Ultralytics 8.1.0's YOLOv8 training losses (v8DetectionLoss,
v8SegmentationLoss, v8PoseLoss, TaskAlignedAssigner, BboxLoss, bbox_iou CIoU, crop_mask,
KeypointLoss), written from their definitions without importing ultralytics, as the twin of
src/nn/loss_yolo.c. The structure (padded [B, n_max] ground truth, batched masks, topk + scatter,
argmax resolution) follows Ultralytics so that autograd gives the reference gradients.

One deliberate difference: the top-k of the assigner is taken by a stable descending sort (ties at
the k-th place go to the lower anchor index), where torch.topk leaves the order of ties unspecified;
dolor does the same.

Inputs: outs, the net's raw maps in output order (box_cls_p*, then mask_coef_p* + proto, or
keypoints_p*); inst, a list of dicts {image, cls, box: [x1, y1, x2, y2] pixels, kpts: [K, 3] pixels
+ visibility}; masks [B, H/4, W/4] (segment, overlap_mask: value k = k-th instance of that image).
"""
import math

import torch
import torch.nn.functional as F

OKS_SIGMA = torch.tensor([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89],
                         dtype=torch.float64) / 10.0

TORCH_TOPK = False  # True: Ultralytics' torch.topk (ties in an unspecified order), to compare
LAST_FG = LAST_MULTI = 0  # fg anchors, anchors positive for several boxes, of the last call (printout)
DEFAULTS = dict(reg_max=16, strides=(8, 16, 32), topk=10, alpha=0.5, beta=6.0, box=7.5, cls=0.5, dfl=1.5,
                pose=12.0, kobj=1.0)


def bbox_iou_ciou(box1, box2, eps=1e-7):
    """bbox_iou(box1, box2, xywh=False, CIoU=True): [..., 4] xyxy -> [..., 1]; alpha without gradient"""
    (b1_x1, b1_y1, b1_x2, b1_y2), (b2_x1, b2_y1, b2_x2, b2_y2) = box1.chunk(4, -1), box2.chunk(4, -1)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0) * \
        (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
    ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


def make_anchors(feats, strides, offset=0.5):
    pts, st = [], []
    for f, s in zip(feats, strides):
        h, w = f.shape[2:]
        sx = torch.arange(w, dtype=f.dtype) + offset
        sy = torch.arange(h, dtype=f.dtype) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        pts.append(torch.stack((sx, sy), -1).view(-1, 2))
        st.append(torch.full((h * w, 1), float(s), dtype=f.dtype))
    return torch.cat(pts), torch.cat(st)


def dist2bbox(distance, anchor_points):
    lt, rb = distance.chunk(2, -1)
    return torch.cat((anchor_points - lt, anchor_points + rb), -1)


def bbox2dist(anchor_points, bbox, reg_max):
    x1y1, x2y2 = bbox.chunk(2, -1)
    return torch.cat((anchor_points - x1y1, x2y2 - anchor_points), -1).clamp(0, reg_max - 0.01)


class Assigner:
    """TaskAlignedAssigner (topk, alpha, beta, eps 1e-9), no gradient"""

    def __init__(self, topk, nc, alpha, beta, eps=1e-9):
        self.topk, self.nc, self.alpha, self.beta, self.eps = topk, nc, alpha, beta, eps

    @torch.no_grad()
    def __call__(self, pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt):
        self.bs, self.n_max = pd_scores.shape[0], gt_bboxes.shape[1]
        if self.n_max == 0:
            return (torch.zeros_like(pd_bboxes), torch.zeros_like(pd_scores),
                    torch.zeros_like(pd_scores[..., 0]).bool(), torch.zeros_like(pd_scores[..., 0]).long())
        mask_in = self.in_gts(anc_points, gt_bboxes)
        align, overlaps = self.metrics(pd_scores, pd_bboxes, gt_labels, gt_bboxes, mask_in * mask_gt)
        mask_topk = self.topk_mask(align)
        mask_pos = mask_topk * mask_in * mask_gt
        fg = mask_pos.sum(-2)
        global LAST_MULTI
        LAST_MULTI = int((fg > 1).sum())
        if fg.max() > 1:
            multi = (fg.unsqueeze(1) > 1).expand(-1, self.n_max, -1)
            is_max = torch.zeros_like(mask_pos)
            is_max.scatter_(1, overlaps.argmax(1).unsqueeze(1), 1)
            mask_pos = torch.where(multi, is_max, mask_pos)
            fg = mask_pos.sum(-2)
        gt_idx = mask_pos.argmax(-2)
        fg_mask = fg > 0
        bidx = torch.arange(self.bs)[:, None] * self.n_max
        labels = gt_labels.long().flatten()[gt_idx + bidx]
        tboxes = gt_bboxes.view(-1, 4)[gt_idx + bidx]
        tscores = F.one_hot(labels.clamp(0), self.nc).to(pd_scores.dtype)
        tscores = torch.where(fg_mask[..., None], tscores, torch.zeros_like(tscores))
        align = align * mask_pos
        pam = align.amax(-1, keepdim=True)
        pov = (overlaps * mask_pos).amax(-1, keepdim=True)
        norm = (align * pov / (pam + self.eps)).amax(-2).unsqueeze(-1)
        return tboxes, tscores * norm, fg_mask, gt_idx

    def in_gts(self, xy, gt, eps=1e-9):
        lt, rb = gt.view(-1, 1, 4).chunk(2, 2)
        d = torch.cat((xy[None] - lt, rb - xy[None]), 2).view(gt.shape[0], gt.shape[1], xy.shape[0], -1)
        return (d.amin(3) > eps).to(gt.dtype)

    def metrics(self, pd_scores, pd_bboxes, gt_labels, gt_bboxes, mask):
        na = pd_bboxes.shape[-2]
        mask = mask.bool()
        overlaps = torch.zeros([self.bs, self.n_max, na], dtype=pd_bboxes.dtype)
        scores = torch.zeros([self.bs, self.n_max, na], dtype=pd_scores.dtype)
        i0 = torch.arange(self.bs).view(-1, 1).expand(-1, self.n_max)
        i1 = gt_labels.squeeze(-1).long()
        scores[mask] = pd_scores[i0, :, i1][mask]
        pd = pd_bboxes.unsqueeze(1).expand(-1, self.n_max, -1, -1)[mask]
        gt = gt_bboxes.unsqueeze(2).expand(-1, -1, na, -1)[mask]
        overlaps[mask] = bbox_iou_ciou(gt, pd).squeeze(-1).clamp(0)
        return scores.pow(self.alpha) * overlaps.pow(self.beta), overlaps

    def topk_mask(self, metrics):
        # stable descending sort in place of torch.topk (see the module comment); TORCH_TOPK: torch.topk
        if TORCH_TOPK:
            idx = torch.topk(metrics, self.topk, dim=-1)[1]
        else:
            idx = torch.sort(metrics, dim=-1, descending=True, stable=True)[1][..., :self.topk]
        out = torch.zeros_like(metrics)
        out.scatter_(-1, idx, 1.0)
        return out


def yolo_loss(task, outs, inst, masks, nc, cfg=None, kpt_shape=None, sigmas=None):
    """-> (total, parts) as Ultralytics' __call__: total = sum(parts) * B, parts gain-multiplied"""
    global LAST_MULTI
    LAST_MULTI = 0
    c = dict(DEFAULTS, **(cfg or {}))
    R, strides, nl = c["reg_max"], c["strides"], len(c["strides"])
    feats = outs[:nl]
    B = feats[0].shape[0]
    no = 4 * R + nc
    x = torch.cat([f.reshape(B, no, -1) for f in feats], 2)
    pred_distri, pred_scores = x.split((4 * R, nc), 1)
    pred_scores = pred_scores.permute(0, 2, 1)
    pred_distri = pred_distri.permute(0, 2, 1)
    dtype = pred_scores.dtype
    imgsz = torch.tensor(feats[0].shape[2:], dtype=dtype) * strides[0]  # h, w
    anchor_points, stride_tensor = make_anchors(feats, strides)
    # ground truth padded to [B, n_max, 5] (cls, x1, y1, x2, y2 pixels) in instance order per image
    per = [[t for t in inst if t["image"] == b] for b in range(B)]
    nmax = max([len(p) for p in per] + [0])
    gt = torch.zeros(B, nmax, 5, dtype=dtype)
    for b, p in enumerate(per):
        for j, t in enumerate(p):
            gt[b, j, 0] = t["cls"]
            gt[b, j, 1:] = torch.tensor(t["box"], dtype=dtype)
    gt_labels, gt_bboxes = gt.split((1, 4), 2)
    mask_gt = (gt_bboxes.sum(2, keepdim=True) > 0).to(dtype)
    proj = torch.arange(R, dtype=dtype)
    pred_bboxes = dist2bbox(pred_distri.view(B, -1, 4, R).softmax(3).matmul(proj), anchor_points)
    assigner = Assigner(c["topk"], nc, c["alpha"], c["beta"])
    target_bboxes, target_scores, fg_mask, gt_idx = assigner(
        pred_scores.detach().sigmoid(), pred_bboxes.detach() * stride_tensor, anchor_points * stride_tensor,
        gt_labels, gt_bboxes, mask_gt)
    global LAST_FG
    LAST_FG = int(fg_mask.sum())
    tss = max(target_scores.sum(), 1)
    lcls = F.binary_cross_entropy_with_logits(pred_scores, target_scores, reduction="none").sum() / tss
    zero = pred_scores.sum() * 0
    lbox, ldfl, lseg, lpose, lkobj = zero, zero, zero, zero, zero
    if fg_mask.sum():
        tb = target_bboxes / stride_tensor
        weight = target_scores.sum(-1)[fg_mask].unsqueeze(-1)
        iou = bbox_iou_ciou(pred_bboxes[fg_mask], tb[fg_mask])
        lbox = ((1.0 - iou) * weight).sum() / tss
        tl = bbox2dist(anchor_points, tb, R - 1)[fg_mask]
        pd = pred_distri[fg_mask].reshape(-1, R)
        tll = tl.long()
        tr = tll + 1
        wl = tr - tl
        wr = 1 - wl
        dfl = (F.cross_entropy(pd, tll.view(-1), reduction="none").view(tll.shape) * wl +
               F.cross_entropy(pd, tr.view(-1), reduction="none").view(tll.shape) * wr).mean(-1, keepdim=True)
        ldfl = (dfl * weight).sum() / tss
        if task == "segment":
            pred_masks, proto = outs[nl:2 * nl], outs[2 * nl]
            nm = proto.shape[1]
            pm = torch.cat([m.reshape(B, nm, -1) for m in pred_masks], 2).permute(0, 2, 1)
            mh, mw = proto.shape[2:]
            tbn = target_bboxes / imgsz[[1, 0, 1, 0]]
            marea = (tbn[..., 2] - tbn[..., 0]) * (tbn[..., 3] - tbn[..., 1])
            mxyxy = tbn * torch.tensor([mw, mh, mw, mh], dtype=dtype)
            lseg = 0
            for i in range(B):
                if fg_mask[i].any():
                    midx = gt_idx[i][fg_mask[i]]
                    gm = (masks[i][None] == (midx + 1).view(-1, 1, 1)).to(dtype)
                    pmask = torch.einsum("in,nhw->ihw", pm[i][fg_mask[i]], proto[i])
                    l = F.binary_cross_entropy_with_logits(pmask, gm, reduction="none")
                    bx = mxyxy[i][fg_mask[i]]
                    x1, y1, x2, y2 = torch.chunk(bx[:, :, None], 4, 1)
                    r = torch.arange(mw, dtype=dtype)[None, None, :]
                    cc = torch.arange(mh, dtype=dtype)[None, :, None]
                    crop = l * ((r >= x1) * (r < x2) * (cc >= y1) * (cc < y2))
                    lseg = lseg + (crop.mean(dim=(1, 2)) / marea[i][fg_mask[i]]).sum()
            lseg = lseg / fg_mask.sum()
        if task == "pose":
            K, KD = kpt_shape
            kp = torch.cat([m.reshape(B, K * KD, -1) for m in outs[nl:2 * nl]], 2).permute(0, 2, 1)
            kp = kp.reshape(B, -1, K, KD)
            y = kp.clone()
            y[..., :2] = y[..., :2] * 2.0
            y[..., 0] = y[..., 0] + anchor_points[:, [0]] - 0.5
            y[..., 1] = y[..., 1] + anchor_points[:, [1]] - 0.5
            bk = torch.zeros(B, max(nmax, 1), K, 3, dtype=dtype)
            for b, p in enumerate(per):
                for j, t in enumerate(p):
                    bk[b, j] = torch.as_tensor(t["kpts"], dtype=dtype)
            sel = bk.gather(1, gt_idx[..., None, None].expand(-1, -1, K, 3)) / stride_tensor.view(1, -1, 1, 1)
            gk = sel[fg_mask]
            tbf = tb[fg_mask]
            area = ((tbf[:, 2] - tbf[:, 0]) * (tbf[:, 3] - tbf[:, 1]))[:, None]
            pk = y[fg_mask]
            kmask = gk[..., 2] != 0 if KD == 3 else torch.ones_like(gk[..., 0], dtype=torch.bool)
            sg = sigmas if sigmas is not None else (OKS_SIGMA if (K, KD) == (17, 3) else torch.ones(K, dtype=dtype) / K)
            d = (pk[..., 0] - gk[..., 0]).pow(2) + (pk[..., 1] - gk[..., 1]).pow(2)
            fac = kmask.shape[1] / (torch.sum(kmask != 0, dim=1) + 1e-9)
            e = d / (2 * sg).pow(2) / (area + 1e-9) / 2  # 8.1's form (later: one product in the denominator)
            lpose = (fac.view(-1, 1) * ((1 - torch.exp(-e)) * kmask)).mean()
            if KD == 3:
                lkobj = F.binary_cross_entropy_with_logits(pk[..., 2], kmask.to(dtype))
    if task == "detect":
        parts = [lbox * c["box"], lcls * c["cls"], ldfl * c["dfl"]]
    elif task == "segment":
        parts = [lbox * c["box"], lseg * c["box"], lcls * c["cls"], ldfl * c["dfl"]]
    else:
        parts = [lbox * c["box"], lpose * c["pose"], lkobj * c["kobj"], lcls * c["cls"], ldfl * c["dfl"]]
    return sum(parts) * B, parts
