import {describe, expect, it} from 'vitest'

import {demoDifferences} from '../../../src/core/demo/verdict.js'

describe('demoDifferences', () => {
  const before = {views: 10, likes: 2, activity: 5}

  it('is empty when the database gained exactly what was written', () => {
    expect(demoDifferences({views: 4, likes: 1, activity: 4}, before, {views: 14, likes: 3, activity: 9})).toEqual([])
  })

  it('names each figure that differs, with what was written and what the database gained', () => {
    expect(demoDifferences({views: 4, likes: 1, activity: 4}, before, {views: 13, likes: 3, activity: 10})).toEqual([
      {name: 'views', written: 4, stored: 3},
      {name: 'activity', written: 4, stored: 5},
    ])
  })
})
