/**
 * Content that is not what it claims to be, as the registry layer and those above know it. It is defined with the
 * transport's errors, where the one verdict on retrying (transport/temporary.ts) can see it.
 */
export {ContentError} from '../transport/errors.ts'
